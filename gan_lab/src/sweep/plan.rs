//! The sweep plan (JSON) and its expansion into named runs; its rules are in `rules.rs`.
//!
//! ```json
//! {
//!   "name": "mlp-ablation",
//!   "base": "mlp-gan",
//!   "set": { "data.limit": 2048, "train.log_every": 10 },
//!   "axes": { "activation": ["relu", "leaky_relu"], "optimizer": ["sgd", "adam"] },
//!   "seeds": [0, 1, 2],
//!   "steps": 300,
//!   "backends": ["flex"]
//! }
//! ```
//! Instead of `steps`, `"budget": {"images": 512000}` gives every run the same number of training
//! images whatever its batch size (or `{"minutes": 10}` the same training time), and
//! `"eval_every": {"images": 64000}` (or `{"seconds": 60}`) evaluates every run at the same
//! points: the equal budgets a comparison needs.
//! A `"preset"` axis instead of `base` compares whole configurations (`"axes": {"preset":
//! ["goodfellow2014-mnist", "dcgan28"]}`): each run starts from its preset, then `set` and the
//! other axes apply.
//! Every combination of axis values × backend × seed is one run. Its id (also its folder name)
//! is `<plan>-<values>-<backend>-s<seed>-<key>`, where `key` is the hash of the configuration
//! without seed and step budget: the same plan always names the same runs, whatever the order of
//! its axes, and a changed configuration never reuses the folder of another.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::axes::{application_order, apply_axis, label_of, name_part, value_text, PRESET_AXIS};
use super::budget::{Amount, RunBudget};
use crate::config::{preset, set_path, ExperimentConfig};
use crate::error::{Error, Result};

/// What to sweep. Unknown fields are an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepPlan {
    /// Name of the sweep (letters, digits, '-', '_'): the prefix of every run's configuration name.
    pub name: String,
    /// The base configuration: a preset name (or a `"preset"` axis, one base per value)…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// …or a JSON config file (relative paths are relative to the plan file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_config: Option<PathBuf>,
    /// Settings changed for every run, by dotted path into the configuration (`"data.limit": 2048`).
    #[serde(default)]
    pub set: BTreeMap<String, Value>,
    /// The axes: a shortcut (see [`super::SHORTCUTS`]) or a dotted path, with the values it takes.
    #[serde(default)]
    pub axes: BTreeMap<String, Vec<Value>>,
    /// One run per seed for every configuration.
    pub seeds: Vec<u64>,
    /// Generator steps every run trains to (raising it later continues finished runs); or…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<u64>,
    /// Backends every configuration runs on (default: flex).
    #[serde(default = "default_backends")]
    pub backends: Vec<String>,
    /// …the same training for every run: `{"images": 512000}` (512000 ÷ its batch size steps, a
    /// whole number: the rules say when it is not) or `{"minutes": 10}` / `{"seconds": 600}` of
    /// training time (summed over its steps; sampling, checkpoints and evaluation left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Amount>,
    /// Evaluate every run at the same points: `{"images": 64000}` sets each run's
    /// `train.checkpoint_every` to 64000 ÷ its batch size (each checkpoint is evaluated);
    /// `{"seconds": 60}` (with a time budget) ends a chunk, with its checkpoint and evaluation,
    /// each time a run's training time passes a multiple of 60 s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_every: Option<Amount>,
}

fn default_backends() -> Vec<String> {
    vec!["flex".into()]
}

/// The most runs one plan may make (rules.rs refuses more before expanding).
pub(super) const MAX_RUNS: usize = 100_000;

/// One run of a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRun {
    /// Position in the plan's expansion (the Slurm array index).
    pub index: usize,
    /// Stable id, also the run's folder name under the runs folder.
    pub id: String,
    /// The axis values of this run, e.g. `activation=relu optimizer=adam`.
    pub values: Vec<(String, Value)>,
    pub backend: String,
    pub seed: u64,
    /// How far this run trains: the plan's `steps`, its images `budget` at this run's batch size,
    /// or its time `budget`.
    pub budget: RunBudget,
    /// The full configuration (seed and steps included).
    pub config: ExperimentConfig,
}

impl PlannedRun {
    /// `activation=relu, optimizer=adam` (or `base` when the plan has no axes).
    pub fn label(&self) -> String {
        label_of(&self.values)
    }

    /// The run's folder under `runs_dir`.
    pub fn dir(&self, runs_dir: &Path) -> PathBuf {
        runs_dir.join(&self.id)
    }
}

impl SweepPlan {
    /// Reads a plan file; `base_config` becomes relative to the plan's folder. Unknown fields and
    /// wrong types are errors naming the file.
    pub fn from_json_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut plan: SweepPlan = serde_json::from_str(&text).map_err(|e| Error::Json { path: path.into(), message: e.to_string() })?;
        if let Some(b) = &plan.base_config {
            if b.is_relative() {
                plan.base_config = Some(path.parent().unwrap_or(Path::new(".")).join(b));
            }
        }
        Ok(plan)
    }

    /// Parses a plan (`base_config`, if relative, is relative to the current folder).
    pub fn from_json_str(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| Error::Json { path: "<plan>".into(), message: e.to_string() })
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a plan serialises")
    }

    /// 16 hex digits of SHA-256 over the canonical JSON.
    pub fn hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(serde_json::to_string(self).expect("a plan serialises").as_bytes());
        crate::hex(&digest[..8])
    }

    fn base_config(&self) -> Result<ExperimentConfig> {
        match (&self.base, &self.base_config) {
            (Some(name), None) => preset(name),
            (None, Some(path)) => ExperimentConfig::from_json_file(path),
            _ => Err(Error::InvalidConfig(vec!["give exactly one of \"base\" (a preset) and \"base_config\" (a config file)".into()])),
        }
    }

    /// Every run of the plan, in a fixed order (axis combinations, then backends, then seeds).
    pub fn expand(&self) -> Result<Vec<PlannedRun>> {
        let problems = self.rule_problems();
        if !problems.is_empty() {
            return Err(Error::InvalidConfig(problems));
        }
        self.expand_unchecked().map_err(|e| Error::InvalidConfig(vec![e]))
    }

    /// The runs, or the first configuration the plan cannot make (the plan's own rules unchecked).
    pub(super) fn expand_unchecked(&self) -> std::result::Result<Vec<PlannedRun>, String> {
        // The base with `set` applied: the plan's, or with a preset axis each value's preset.
        let with_set = |base: ExperimentConfig| -> std::result::Result<Value, String> {
            let mut base = serde_json::to_value(&base).expect("a config serialises");
            for (path, value) in &self.set {
                set_path(&mut base, path, value.clone()).map_err(|e| format!("set '{path}': {e}"))?;
            }
            Ok(base)
        };
        let plan_base = match self.axes.contains_key(PRESET_AXIS) {
            false => Some(with_set(self.base_config().map_err(|e| e.to_string())?)?),
            true => None,
        };
        let order = application_order(&self.axes);
        // Every combination of axis values, the first axis (by name) varying slowest.
        let names: Vec<&String> = self.axes.keys().collect();
        let mut combos: Vec<Vec<(String, Value)>> = vec![Vec::new()];
        for name in &names {
            combos = combos
                .into_iter()
                .flat_map(|c| self.axes[*name].iter().map(move |v| [c.clone(), vec![((*name).clone(), v.clone())]].concat()))
                .collect();
        }
        let mut runs = Vec::new();
        for values in combos {
            let mut cfg = match (&plan_base, values.iter().find(|(k, _)| k == PRESET_AXIS)) {
                (Some(base), _) => base.clone(),
                (None, Some((_, name))) => with_set(preset(&value_text(name)).map_err(|e| format!("axis 'preset' = {}: {e}", value_text(name)))?)?,
                (None, None) => unreachable!("a plan without a base has a preset axis"),
            };
            for axis in &order {
                let v = &values.iter().find(|(k, _)| k == *axis).expect("every axis has a value").1;
                apply_axis(&mut cfg, axis, v).map_err(|e| format!("axis '{axis}' = {}: {e}", value_text(v)))?;
            }
            let parts: Vec<String> = values.iter().map(|(k, v)| name_part(k, v)).collect();
            let name = if parts.is_empty() { self.name.clone() } else { format!("{}-{}", self.name, parts.join("-")) };
            set_path(&mut cfg, "name", Value::from(name)).expect("name exists");
            let mut config: ExperimentConfig = serde_json::from_value(cfg).map_err(|e| format!("{}: {e}", label_of(&values)))?;
            let batch = config.train.batch_size;
            let at = |e: String| format!("{}: {e}", label_of(&values));
            let budget = match (self.steps, self.budget) {
                (Some(steps), _) => RunBudget::Steps(steps),
                (None, Some(b)) => match b.train_seconds() {
                    Some(seconds) => RunBudget::TrainSeconds { seconds, eval_every: self.eval_every.and_then(Amount::train_seconds) },
                    None => RunBudget::Steps(b.steps(batch, "budget").map_err(at)?),
                },
                (None, None) => unreachable!("the rules require steps or budget"),
            };
            if let RunBudget::Steps(steps) = budget {
                config.train.steps = steps;
            }
            if let Some(every @ Amount::Images(_)) = self.eval_every {
                config.train.checkpoint_every = every.steps(batch, "eval_every").map_err(at)?;
            }
            config.validate().map_err(|e| format!("{}: {e}", label_of(&values)))?;
            for backend in &self.backends {
                for &seed in &self.seeds {
                    let mut c = config.clone();
                    c.seed = seed;
                    let id = format!("{}-{backend}-s{seed}-{}", c.name, &c.key()[..8]);
                    runs.push(PlannedRun { index: runs.len(), id, values: values.clone(), backend: backend.clone(), seed, budget, config: c });
                }
            }
        }
        Ok(runs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LossKind;

    fn plan(json: &str) -> SweepPlan {
        serde_json::from_str(json).unwrap()
    }

    const ABLATION: &str = r#"{
        "name": "abl", "base": "mlp-gan",
        "set": {"data.limit": 512},
        "axes": {"optimizer": ["sgd", "adam"], "activation": ["relu", "leaky_relu"], "batch_norm": [false, true]},
        "seeds": [0, 1], "steps": 20
    }"#;

    #[test]
    fn a_plan_expands_to_every_combination_times_seeds_with_the_settings_applied() {
        let runs = plan(ABLATION).expand().unwrap();
        assert_eq!(runs.len(), 2 * 2 * 2 * 2);
        let r = &runs[0];
        assert_eq!(r.label(), "activation=relu, batch_norm=false, optimizer=sgd");
        assert_eq!(r.config.name, "abl-relu-no-bn-sgd");
        assert_eq!(r.id, format!("abl-relu-no-bn-sgd-flex-s0-{}", &r.config.key()[..8]));
        assert_eq!((r.config.data.limit, r.config.train.steps, r.seed), (Some(512), 20, 0));
        assert!(matches!(r.config.g_optimizer, crate::config::OptimizerConfig::Sgd { .. }));
        assert_eq!(r.config.discriminator.activation, crate::config::Activation::Relu);
        let last = runs.last().unwrap();
        assert_eq!(last.config.name, "abl-leaky_relu-bn-adam");
        assert!(last.config.generator.batch_norm && last.config.discriminator.batch_norm);
        assert_eq!(last.config.generator.activation, crate::config::Activation::LeakyRelu { alpha: 0.2 });
        let ids: std::collections::BTreeSet<_> = runs.iter().map(|r| r.id.clone()).collect();
        assert_eq!(ids.len(), runs.len(), "ids are unique");
    }

    #[test]
    fn run_ids_do_not_depend_on_axis_order_seed_order_or_the_step_budget() {
        let a = plan(ABLATION).expand().unwrap();
        let reordered = ABLATION
            .replace(r#""optimizer": ["sgd", "adam"], "activation": ["relu", "leaky_relu"]"#, r#""activation": ["leaky_relu", "relu"], "optimizer": ["adam", "sgd"]"#)
            .replace(r#""seeds": [0, 1], "steps": 20"#, r#""seeds": [1, 0], "steps": 500"#);
        assert_ne!(reordered, ABLATION);
        let b = plan(&reordered).expand().unwrap();
        let ids = |runs: &[PlannedRun]| runs.iter().map(|r| r.id.clone()).collect::<std::collections::BTreeSet<_>>();
        assert_eq!(ids(&a), ids(&b));
        // A changed setting is a different configuration: new ids.
        let c = plan(&ABLATION.replace("512", "1024")).expand().unwrap();
        assert!(ids(&a).is_disjoint(&ids(&c)));
    }

    #[test]
    fn the_preset_axis_gives_each_run_its_preset_with_set_and_the_other_axes_on_top() {
        let json = r#"{"name": "study", "axes": {"preset": ["goodfellow2014-mnist", "dcgan28"], "optimizer": ["adam"]}, "set": {"data.limit": 512}, "seeds": [0], "steps": 5}"#;
        let runs = plan(json).expand().unwrap();
        assert_eq!(runs.len(), 2);
        let goodfellow = runs.iter().find(|r| r.id.starts_with("study-adam-goodfellow2014-mnist-flex-s0-")).unwrap();
        let dcgan = runs.iter().find(|r| r.id.starts_with("study-adam-dcgan28-flex-s0-")).unwrap();
        assert!(matches!(goodfellow.config.discriminator.architecture, crate::config::Architecture::Mlp { .. }));
        assert!(matches!(dcgan.config.discriminator.architecture, crate::config::Architecture::Dcgan { .. }));
        for r in [goodfellow, dcgan] {
            assert_eq!(r.config.data.limit, Some(512), "{}", r.id);
            assert!(matches!(r.config.g_optimizer, crate::config::OptimizerConfig::Adam { .. }), "{}", r.id);
        }
        assert_eq!(goodfellow.config.train.batch_size, 100, "the rest of the preset stays");
        let both = plan(r#"{"name": "s", "base": "mlp-gan", "axes": {"preset": ["dcgan28"]}, "seeds": [0], "steps": 5}"#);
        assert_eq!(both.problems(), vec!["the \"preset\" axis gives every run its base: give neither \"base\" nor \"base_config\" with it"]);
        let unknown = plan(r#"{"name": "s", "axes": {"preset": ["dcgan99", 3]}, "seeds": [0], "steps": 5}"#);
        assert_eq!(unknown.problems(), vec!["the \"preset\" axis takes preset names (gan-lab presets), got 3"]);
        let unknown = plan(r#"{"name": "s", "axes": {"preset": ["dcgan99"]}, "seeds": [0], "steps": 5}"#);
        let err = unknown.problems().join("\n");
        assert!(err.starts_with("axis 'preset' = dcgan99: ") && err.contains("dcgan28"), "{err}");
    }

    #[test]
    fn the_augment_axis_switches_between_none_diffaugment_and_ada() {
        use crate::config::AugmentProbability;
        let runs = plan(r#"{"name": "aug", "base": "dcgan-emoji32", "axes": {"augment": ["none", "diffaugment", "ada"]}, "seeds": [0], "steps": 5}"#).expand().unwrap();
        let p: Vec<Option<AugmentProbability>> = runs.iter().map(|r| r.config.discriminator.augment.as_ref().map(|a| a.p)).collect();
        assert_eq!(p, [None, Some(AugmentProbability::Fixed(1.0)), Some(AugmentProbability::Adaptive { target: 0.6, images_to_full: 100_000, interval: 4 })]);
        assert_eq!(runs.iter().map(|r| r.config.name.as_str()).collect::<Vec<_>>(), ["aug-none", "aug-diffaugment", "aug-ada"]);
        let err = plan(r#"{"name": "aug", "base": "dcgan28", "axes": {"augment": ["strong"]}, "seeds": [0], "steps": 5}"#).expand().unwrap_err().to_string();
        assert!(err.contains("augment \"strong\" is not a shortcut"), "{err}");
    }

    #[test]
    fn the_loss_axis_sets_the_loss_and_gives_wasserstein_its_clip() {
        let runs = plan(r#"{"name": "losses", "base": "dcgan28", "axes": {"loss": ["non_saturating_bce", "hinge", "wasserstein"]}, "seeds": [0], "steps": 5}"#)
            .expand()
            .unwrap();
        let by_loss = |l: LossKind| runs.iter().find(|r| r.config.loss == l).unwrap_or_else(|| panic!("no {l:?} run"));
        assert_eq!(by_loss(LossKind::Hinge).config.discriminator.weight_clip, None);
        assert_eq!(by_loss(LossKind::Wasserstein).config.discriminator.weight_clip, Some(0.01));
        assert_eq!(by_loss(LossKind::Wasserstein).config.name, "losses-wasserstein");
        let kept = plan(r#"{"name": "w", "base": "wgan-clip-mlp", "axes": {"loss": ["wasserstein"]}, "seeds": [0], "steps": 5}"#).expand().unwrap();
        assert_eq!(kept[0].config.discriminator.weight_clip, Some(0.01));
        // a base with WGAN-GP's penalty is already a Lipschitz critic: no clip on top
        let gp = plan(r#"{"name": "gp", "base": "r1-dcgan28", "axes": {"loss": ["wasserstein"]}, "set": {"discriminator.gradient_penalty.kind": "wgan_gp"}, "seeds": [0], "steps": 5}"#);
        let gp = gp.expand().unwrap();
        assert_eq!((gp[0].config.loss, gp[0].config.discriminator.weight_clip), (LossKind::Wasserstein, None));
    }

    #[test]
    fn lr_lands_in_the_optimizer_chosen_by_the_optimizer_axis() {
        let runs = plan(r#"{"name": "lr", "base": "mlp-gan", "axes": {"optimizer": ["sgd"], "lr": [0.01, 0.1]}, "seeds": [3], "steps": 5}"#).expand().unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[1].config.name, "lr-lr0p1-sgd");
        match &runs[1].config.d_optimizer {
            crate::config::OptimizerConfig::Sgd { lr, momentum, .. } => assert_eq!((*lr, *momentum), (0.1, 0.5)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_images_budget_gives_every_batch_size_the_same_images_and_the_same_evaluation_points() {
        let json = r#"{"name": "eq", "base": "mlp-gan", "axes": {"batch_size": [32, 64, 128]}, "seeds": [0, 1], "budget": {"images": 12800}, "eval_every": {"images": 3200}}"#;
        let runs = plan(json).expand().unwrap();
        assert_eq!(runs.len(), 6);
        for r in &runs {
            let (batch, every) = (r.config.train.batch_size as u64, r.config.train.checkpoint_every);
            let RunBudget::Steps(steps) = r.budget else { panic!("{:?}", r.budget) };
            assert_eq!((steps * batch, r.config.train.steps), (12800, steps), "{}", r.id);
            // A run is evaluated at every checkpoint: the same points, in images, for every run.
            let points: Vec<u64> = (1..=steps).filter(|s| s % every == 0).map(|s| s * batch).collect();
            assert_eq!(points, [3200, 6400, 9600, 12800], "{}", r.id);
        }
        assert_eq!(runs.iter().map(|r| r.budget).collect::<Vec<_>>(), [400, 400, 200, 200, 100, 100].map(RunBudget::Steps));
        // A plan without the new fields reads and hashes as before: they are left out of its JSON.
        let old = plan(ABLATION);
        assert!(!old.to_json().contains("budget") && !old.to_json().contains("eval_every") && old.to_json().contains("\"steps\": 20"));
        assert_eq!(old.expand().unwrap()[0].budget, RunBudget::Steps(20));
    }

    #[test]
    fn base_config_paths_are_relative_to_the_plan_file() {
        let dir = crate::test_scratch_dir("plan");
        std::fs::create_dir_all(dir.join("configs")).unwrap();
        std::fs::write(dir.join("configs/mine.json"), preset("dcgan28").unwrap().to_json()).unwrap();
        std::fs::write(dir.join("plan.json"), r#"{"name": "mine", "base_config": "configs/mine.json", "seeds": [0, 1], "steps": 5, "backends": ["flex", "ndarray"]}"#).unwrap();
        let runs = SweepPlan::from_json_file(dir.join("plan.json")).unwrap().expand().unwrap();
        assert_eq!(runs.len(), 4);
        assert_eq!(runs[2].label(), "base");
        assert_eq!((runs[2].backend.as_str(), runs[2].seed, runs[2].config.name.as_str()), ("ndarray", 0, "mine"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
