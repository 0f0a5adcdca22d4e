//! Changing a configuration by dotted paths (`train.batch_size=16`): what `gan-lab train --set`
//! and a sweep plan's `set` and axes do. Paths name JSON fields; a field that the JSON leaves out
//! (an optional setting such as `discriminator.spectral_norm`) is added, and the result is read
//! back as a configuration, so a misspelt name is refused there with the list of known fields.

use serde_json::Value;

use super::ExperimentConfig;
use crate::error::{Error, Result};

/// Sets the field at `path` (dotted) of a configuration in JSON form, adding it (and any missing
/// or null object on the way) when absent.
pub fn set_path(cfg: &mut Value, path: &str, value: Value) -> std::result::Result<(), String> {
    let parts: Vec<&str> = path.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(format!("'{path}' is not a dotted path of field names"));
    }
    let mut here = cfg;
    for (i, part) in parts.iter().enumerate() {
        if here.is_null() {
            *here = Value::Object(Default::default());
        }
        let Value::Object(map) = here else {
            return Err(format!("'{}' is {}, not an object, so it has no field '{part}'", parts[..i].join("."), here));
        };
        here = map.entry(part.to_string()).or_insert(Value::Null);
    }
    *here = value;
    Ok(())
}

/// `path=value` → (path, value): the value as JSON when it parses (`16`, `true`, `null`,
/// `{"adam": {…}}`), else as a string (`data.dataset=mnist10k`).
pub fn parse_setting(setting: &str) -> Result<(String, Value)> {
    let Some((path, text)) = setting.split_once('=') else {
        return Err(Error::Other(format!("setting '{setting}' is not PATH=VALUE (e.g. train.batch_size=16)")));
    };
    let value = serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()));
    Ok((path.trim().to_string(), value))
}

impl ExperimentConfig {
    /// This configuration with `settings` (`path=value` each, applied in order), read back and
    /// validated.
    pub fn with_settings<S: AsRef<str>>(&self, settings: &[S]) -> Result<Self> {
        let mut json = serde_json::to_value(self).expect("a config serialises");
        for s in settings {
            let (path, value) = parse_setting(s.as_ref())?;
            set_path(&mut json, &path, value).map_err(|e| Error::Other(format!("setting '{}': {e}", s.as_ref())))?;
        }
        let list = settings.iter().map(|s| s.as_ref()).collect::<Vec<_>>().join(", ");
        let cfg: ExperimentConfig = serde_json::from_value(json).map_err(|e| Error::Other(format!("settings {list}: {e}")))?;
        cfg.validate()?;
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::preset;

    #[test]
    fn settings_change_nested_fields_and_add_optional_ones() {
        let base = preset("dcgan28").unwrap();
        let cfg = base
            .with_settings(&["train.batch_size=16", "data.dataset=fashion-mnist-test10k", "data.limit=64", "discriminator.spectral_norm=true", "train.g_ema.decay=0.999"])
            .unwrap();
        assert_eq!(cfg.train.batch_size, 16);
        assert_eq!(cfg.data.dataset, "fashion-mnist-test10k");
        assert_eq!(cfg.data.limit, Some(64));
        assert!(cfg.discriminator.spectral_norm);
        assert_eq!(cfg.train.g_ema, Some(crate::config::GeneratorEma { decay: 0.999, start_step: 0 }));
        assert_eq!(base.with_settings::<&str>(&[]).unwrap(), base);
    }

    #[test]
    fn a_bad_setting_is_one_error_naming_it() {
        let base = preset("dcgan28").unwrap();
        let err = |s: &str| base.with_settings(&[s]).unwrap_err().to_string();
        assert!(err("train.batch_size").contains("setting 'train.batch_size' is not PATH=VALUE"));
        let e = err("train.batchsize=16");
        assert!(e.contains("unknown field `batchsize`") && e.contains("`batch_size`"), "{e}");
        let e = err("loss.kind=1");
        assert!(e.contains("'loss' is \"non_saturating_bce\", not an object"), "{e}");
        let e = err("train.batch_size=abc");
        assert!(e.contains("settings train.batch_size=abc") && e.contains("invalid type: string \"abc\""), "{e}");
        let e = err("train.batch_size=1");
        assert!(e.contains("train.batch_size must be ≥ 2, got 1"), "{e}");
        assert!(err("train..steps=1").contains("not a dotted path"));
    }
}
