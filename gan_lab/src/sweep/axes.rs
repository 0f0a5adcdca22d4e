//! A plan's axes: the shortcuts that change several fields at once, dotted paths into a
//! configuration in JSON form, the order axes apply in, and how a value reads in a run's name.

use serde_json::Value;
use std::collections::BTreeMap;

use crate::config::set_path;

/// Axis names that change more than one field, with what they do.
pub const SHORTCUTS: [(&str, &str); 10] = [
    ("preset", "the base configuration of each run, a preset name (instead of the plan's \"base\"; \"set\" and the other axes apply on top)"),
    ("activation", "hidden activation of both networks: \"relu\", \"leaky_relu\" (α 0.2) or a full activation object"),
    ("batch_norm", "BatchNorm in both networks: true or false"),
    ("optimizer", "optimiser of both networks: \"adam\" (2e-4, β1 0.5), \"sgd\" (0.05, momentum 0.5) or a full optimiser object"),
    ("lr", "learning rate of both optimisers (applied after \"optimizer\")"),
    ("dropout", "dropout after the discriminator's hidden layers"),
    ("loss", "adversarial loss: \"non_saturating_bce\", \"minimax_bce\", \"least_squares\", \"hinge\" or \"wasserstein\" (which also clips D's weights to ±0.01 unless the base sets a clip)"),
    ("augment", "augmentation of D's images: \"none\", \"diffaugment\" (colour, translation, cutout at p = 1), \"ada\" (the same, p adapted toward 0.6) or a full discriminator.augment object"),
    ("batch_size", "train.batch_size"),
    ("dataset", "data.dataset"),
];

/// `activation=relu, optimizer=adam`, or `base` for no axis values.
pub(super) fn label_of(values: &[(String, Value)]) -> String {
    if values.is_empty() {
        return "base".into();
    }
    values.iter().map(|(k, v)| format!("{k}={}", value_text(v))).collect::<Vec<_>>().join(", ")
}

/// A JSON value as short text: strings without quotes, everything else as compact JSON.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Letters, digits, '-' and '_' only; runs of anything else become one '-' (a decimal point in a
/// number becomes 'p': `0.1` → `0p1`).
pub(super) fn slug(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let digit_before = out.chars().last().is_some_and(|p| p.is_ascii_digit());
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else if c == '.' && digit_before && chars.peek().is_some_and(|n| n.is_ascii_digit()) {
            out.push('p');
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// How one axis value reads in a configuration name: `relu`, `bn` / `no-bn`, `lr0p0002`.
pub(super) fn name_part(axis: &str, v: &Value) -> String {
    let short = match axis {
        "batch_norm" => "bn",
        other => other.rsplit('.').next().unwrap_or(other),
    };
    match v {
        Value::Bool(true) => slug(short),
        Value::Bool(false) => format!("no-{}", slug(short)),
        Value::Number(n) => format!("{}{}", slug(short), slug(&n.to_string())),
        Value::String(s) => slug(s),
        other => slug(&other.to_string()),
    }
}

/// Sets `field` inside each optimiser's variant object (`{"adam": {"lr": …}}`).
fn set_in_optimizers(cfg: &mut Value, field: &str, value: &Value) -> std::result::Result<(), String> {
    for opt in ["g_optimizer", "d_optimizer"] {
        let Some(Value::Object(variant)) = cfg.get_mut(opt) else { return Err(format!("'{opt}' is not an optimiser object")) };
        for (_, settings) in variant.iter_mut() {
            let Value::Object(s) = settings else { return Err(format!("'{opt}' has no settings object")) };
            s.insert(field.into(), value.clone());
        }
    }
    Ok(())
}

/// Applies one axis (shortcut or dotted path) to a configuration in JSON form.
pub(super) fn apply_axis(cfg: &mut Value, axis: &str, value: &Value) -> std::result::Result<(), String> {
    let both = |cfg: &mut Value, field: &str, v: Value| {
        set_path(cfg, &format!("generator.{field}"), v.clone())?;
        set_path(cfg, &format!("discriminator.{field}"), v)
    };
    match axis {
        "activation" => {
            let v = match value.as_str() {
                Some("relu") => Value::from("relu"),
                Some("leaky_relu") => serde_json::json!({"leaky_relu": {"alpha": 0.2}}),
                Some(other) => return Err(format!("activation \"{other}\" is not a shortcut (\"relu\", \"leaky_relu\"); give a full object, e.g. {{\"maxout\": {{\"pieces\": 2}}}}")),
                None => value.clone(),
            };
            both(cfg, "activation", v)
        }
        "batch_norm" => both(cfg, "batch_norm", value.clone()),
        "optimizer" => {
            let v = match value.as_str() {
                Some("adam") => serde_json::json!({"adam": {"lr": 2e-4, "beta1": 0.5, "beta2": 0.999, "eps": 1e-8}}),
                Some("sgd") => serde_json::json!({"sgd": {"lr": 0.05, "momentum": 0.5, "momentum_schedule": null, "lr_decay": 1.0, "min_lr": 0.0}}),
                Some(other) => return Err(format!("optimizer \"{other}\" is not a shortcut (\"adam\", \"sgd\"); give a full optimiser object")),
                None => value.clone(),
            };
            set_path(cfg, "g_optimizer", v.clone())?;
            set_path(cfg, "d_optimizer", v)
        }
        "lr" => set_in_optimizers(cfg, "lr", value),
        "dropout" => set_path(cfg, "discriminator.dropout.hidden", value.clone()),
        "loss" => {
            set_path(cfg, "loss", value.clone())?;
            if value.as_str() == Some("wasserstein") {
                let Some(Value::Object(d)) = cfg.get_mut("discriminator") else { return Err("'discriminator' is not an object".into()) };
                // a critic the base already bounds (clip or WGAN-GP) keeps its bound
                let penalised = d.get("gradient_penalty").is_some_and(|p| !p.is_null());
                if !penalised {
                    d.entry("weight_clip").or_insert(serde_json::json!(0.01));
                }
            }
            Ok(())
        }
        "augment" => {
            let v = match value.as_str() {
                Some("none") => Value::Null,
                Some("diffaugment") => serde_json::json!({}),
                Some("ada") => serde_json::json!({"p": {"adaptive": {}}}),
                Some(other) => return Err(format!("augment \"{other}\" is not a shortcut (\"none\", \"diffaugment\", \"ada\"); give a full object, e.g. {{\"policy\": [\"translation\"], \"p\": {{\"fixed\": 0.5}}}}")),
                None => value.clone(),
            };
            set_path(cfg, "discriminator.augment", v)
        }
        "batch_size" => set_path(cfg, "train.batch_size", value.clone()),
        "dataset" => set_path(cfg, "data.dataset", value.clone()),
        path => set_path(cfg, path, value.clone()),
    }
}

/// The axis that picks each run's base configuration (a preset) rather than changing one.
pub(super) const PRESET_AXIS: &str = "preset";

/// Axis order of application: every axis by name, then `lr` (so it lands in the chosen
/// optimiser). The preset axis is not applied: it chooses the configuration the others change.
pub(super) fn application_order(axes: &BTreeMap<String, Vec<Value>>) -> Vec<&String> {
    let mut names: Vec<&String> = axes.keys().filter(|k| !["lr", PRESET_AXIS].contains(&k.as_str())).collect();
    names.extend(axes.keys().filter(|k| k.as_str() == "lr"));
    names
}
