//! The rules a sweep plan must keep, checked once before anything runs: every broken rule is
//! reported, one message each, naming the values at fault.

use super::axes::PRESET_AXIS;
use super::budget::Amount;
use super::plan::{SweepPlan, MAX_RUNS};
use crate::backend::BackendKind;
use crate::error::{Error, Result};

impl SweepPlan {
    /// Every rule the plan breaks, one message each (empty when it is valid). Expands the plan to
    /// check that every configuration it makes is valid.
    pub fn problems(&self) -> Vec<String> {
        let mut p = self.rule_problems();
        if p.is_empty() {
            if let Err(e) = self.expand_unchecked() {
                p.push(e);
            }
        }
        p
    }

    /// The rules on the plan's own fields (everything but the configurations it makes).
    pub(super) fn rule_problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.name.is_empty() || !self.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            p.push(format!("name must be non-empty and use only letters, digits, '-' and '_', got '{}'", self.name));
        }
        match (self.axes.contains_key(PRESET_AXIS), self.base.is_some(), self.base_config.is_some()) {
            (false, base, file) if base == file => p.push("give exactly one of \"base\" (a preset) and \"base_config\" (a config file)".into()),
            (true, true, _) | (true, _, true) => p.push("the \"preset\" axis gives every run its base: give neither \"base\" nor \"base_config\" with it".into()),
            _ => {}
        }
        for v in self.axes.get(PRESET_AXIS).into_iter().flatten() {
            if !v.is_string() {
                p.push(format!("the \"preset\" axis takes preset names (gan-lab presets), got {v}"));
            }
        }
        if self.seeds.is_empty() {
            p.push("seeds must list at least one seed".into());
        }
        let mut seen = std::collections::BTreeSet::new();
        for s in &self.seeds {
            if !seen.insert(s) {
                p.push(format!("seed {s} is listed twice"));
            }
        }
        match (self.steps, self.budget) {
            (Some(0), _) => p.push("steps must be ≥ 1, got 0".into()),
            (Some(_), Some(_)) | (None, None) => p.push("give exactly one of \"steps\" and \"budget\" (e.g. {\"images\": 512000})".into()),
            _ => {}
        }
        match (self.budget, self.eval_every) {
            (Some(Amount::Images(total)), Some(Amount::Images(every))) if every == 0 || total % every != 0 => {
                p.push(format!("budget ({total} images) must be a whole number of eval_every intervals ({every} images), so every run is evaluated at its end"));
            }
            (None | Some(Amount::Images(_)), Some(every)) if every.train_seconds().is_some() => {
                p.push("eval_every in seconds or minutes needs a budget in time (e.g. \"budget\": {\"minutes\": 10}); with steps or images, give eval_every in images".into());
            }
            (Some(budget), Some(Amount::Images(_))) if budget.train_seconds().is_some() => {
                p.push("with a budget in time, give eval_every in seconds or minutes (images and time points differ between runs)".into());
            }
            _ => {}
        }
        for (what, amount) in [("budget", self.budget), ("eval_every", self.eval_every)] {
            if let Some(t) = amount.and_then(Amount::train_seconds) {
                if !(t.is_finite() && t > 0.0 && t < 1e12) {
                    p.push(format!("{what} must be a time > 0, got {t} s"));
                }
            }
        }
        if self.backends.is_empty() {
            p.push("backends must list at least one backend".into());
        }
        for b in &self.backends {
            if BackendKind::parse(b).is_err() {
                p.push(format!("backend '{b}' is not one of {}", BackendKind::names().join(", ")));
            }
        }
        if self.backends.iter().collect::<std::collections::BTreeSet<_>>().len() != self.backends.len() {
            p.push("backends lists a backend twice".into());
        }
        for (axis, values) in &self.axes {
            if values.is_empty() {
                p.push(format!("axis '{axis}' has no values"));
            }
            if values.iter().enumerate().any(|(i, v)| values[..i].contains(v)) {
                p.push(format!("axis '{axis}' lists a value twice"));
            }
        }
        // Checked: twenty axes of ten values are 10^20 runs, past usize, and must not wrap to a
        // small count that passes.
        let counts = self.axes.values().map(|v| v.len().max(1)).chain([self.seeds.len(), self.backends.len()]);
        match counts.map(|c| c as u128).try_fold(1u128, u128::checked_mul) {
            Some(n) if n <= MAX_RUNS as u128 => {}
            Some(n) => p.push(format!("the plan makes {n} runs, more than {MAX_RUNS}")),
            None => p.push(format!("the plan makes more than {} runs, more than {MAX_RUNS}", u128::MAX)),
        }
        p
    }

    /// Checks every rule once; the error lists every broken rule.
    pub fn validate(&self) -> Result<()> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidConfig(problems))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(json: &str) -> SweepPlan {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_budget_that_is_not_whole_steps_or_whole_intervals_is_refused_with_the_nearest_values() {
        let p = plan(r#"{"name": "eq", "base": "mlp-gan", "axes": {"batch_size": [64, 48]}, "seeds": [0], "budget": {"images": 1000}, "eval_every": {"images": 300}}"#);
        assert_eq!(p.problems(), ["budget (1000 images) must be a whole number of eval_every intervals (300 images), so every run is evaluated at its end"]);
        let p = plan(r#"{"name": "eq", "base": "mlp-gan", "axes": {"batch_size": [64, 48]}, "seeds": [0], "budget": {"images": 3072}, "eval_every": {"images": 1024}}"#);
        let problems = p.problems().join("\n");
        assert!(problems.contains("batch_size=48: eval_every of 1024 images is not a whole number of steps at batch size 48 (nearest: 1008 or 1056)"), "{problems}");
        let both = plan(r#"{"name": "eq", "base": "mlp-gan", "seeds": [0], "steps": 10, "budget": {"images": 640}}"#);
        assert_eq!(both.problems(), ["give exactly one of \"steps\" and \"budget\" (e.g. {\"images\": 512000})"]);
        let neither = plan(r#"{"name": "eq", "base": "mlp-gan", "seeds": [0]}"#);
        assert_eq!(neither.problems(), both.problems());
        let err = serde_json::from_str::<SweepPlan>(r#"{"name": "eq", "base": "mlp-gan", "seeds": [0], "budget": {"hours": 2}}"#).unwrap_err().to_string();
        assert!(err.contains("unknown variant `hours`") && err.contains("images") && err.contains("minutes"), "{err}");
        let time_with_images = plan(r#"{"name": "t", "base": "mlp-gan", "seeds": [0], "budget": {"minutes": 5}, "eval_every": {"images": 6400}}"#);
        assert_eq!(time_with_images.problems(), ["with a budget in time, give eval_every in seconds or minutes (images and time points differ between runs)"]);
        let images_with_time = plan(r#"{"name": "t", "base": "mlp-gan", "seeds": [0], "steps": 100, "eval_every": {"seconds": 30}}"#);
        assert!(images_with_time.problems()[0].starts_with("eval_every in seconds or minutes needs a budget in time"), "{:?}", images_with_time.problems());
        let zero = plan(r#"{"name": "t", "base": "mlp-gan", "seeds": [0], "budget": {"minutes": 0}, "eval_every": {"seconds": -1}}"#);
        assert_eq!(zero.problems(), ["budget must be a time > 0, got 0 s", "eval_every must be a time > 0, got -1 s"]);
        let time = plan(r#"{"name": "t", "base": "mlp-gan", "axes": {"batch_size": [32, 64]}, "seeds": [0], "budget": {"seconds": 50}, "eval_every": {"seconds": 20}}"#).expand().unwrap();
        assert!(time.iter().all(|r| r.budget.stops() == [20.0, 40.0, 50.0]), "the same time points for every batch size");
        assert_eq!(time[0].budget.describe(), format!("{} of training", crate::run::format_duration(50.0)));
    }

    #[test]
    fn every_broken_rule_is_reported_once() {
        let p = plan(r#"{"name": "bad name", "base": "mlp-gan", "base_config": "x.json", "axes": {"lr": []}, "seeds": [1, 1], "steps": 0, "backends": ["tpu"]}"#);
        let problems = p.problems();
        assert_eq!(
            problems,
            vec![
                "name must be non-empty and use only letters, digits, '-' and '_', got 'bad name'",
                "give exactly one of \"base\" (a preset) and \"base_config\" (a config file)",
                "seed 1 is listed twice",
                "steps must be ≥ 1, got 0",
                "backend 'tpu' is not one of flex, ndarray, cuda, wgpu",
                "axis 'lr' has no values",
            ]
        );
    }

    /// 40 axes of 4 values are 4^40 ≈ 1.2e24 runs: usize wrapped this count to 0, which passed the
    /// limit, and the expansion then tried to build them. Now it is a clean error before expanding.
    #[test]
    fn a_plan_whose_runs_multiply_past_any_limit_is_refused_before_expanding() {
        let axes: Vec<String> = (0..40).map(|i| format!("\"train.x{i}\": [1, 2, 3, 4]")).collect();
        let p = plan(&format!(r#"{{"name": "huge", "base": "mlp-gan", "axes": {{{}}}, "seeds": [1, 2], "steps": 10}}"#, axes.join(", ")));
        let err = p.expand().unwrap_err().to_string();
        assert!(err.contains("the plan makes 2417851639229258349412352 runs, more than"), "{err}");
        let axes: Vec<String> = (0..70).map(|i| format!("\"train.x{i}\": [1, 2, 3, 4]")).collect();
        let p = plan(&format!(r#"{{"name": "huger", "base": "mlp-gan", "axes": {{{}}}, "seeds": [1], "steps": 10}}"#, axes.join(", ")));
        assert!(p.validate().unwrap_err().to_string().contains("the plan makes more than 340282366920938463463374607431768211455 runs"));
    }

    #[test]
    fn an_unknown_path_or_an_invalid_variant_is_named() {
        let p = plan(r#"{"name": "x", "base": "mlp-gan", "axes": {"generator.batchnorm": [true]}, "seeds": [0], "steps": 5}"#);
        let problems = p.problems().join("\n");
        assert!(problems.contains("generator.batchnorm=true: unknown field `batchnorm`, expected one of"), "{problems}");
        let p = plan(r#"{"name": "x", "base": "mlp-gan", "axes": {"batch_size": [64, 0]}, "seeds": [0], "steps": 5}"#);
        let problems = p.problems().join("\n");
        assert!(problems.starts_with("batch_size=0: invalid configuration: "), "{problems}");
        let p = plan(r#"{"name": "x", "base": "no-such-preset", "seeds": [0], "steps": 5}"#);
        assert!(p.problems()[0].contains("no-such-preset"), "{:?}", p.problems());
        let err = serde_json::from_str::<SweepPlan>(r#"{"name": "x", "base": "mlp-gan", "seed": [0], "steps": 5}"#).unwrap_err().to_string();
        assert!(err.contains("unknown field `seed`"), "{err}");
    }
}
