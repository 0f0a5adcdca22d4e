//! What each training-health alarm (train/health.rs raises them, metrics rows store their names)
//! means and what to try, in one sentence for a given configuration.

use crate::config::ExperimentConfig;

/// What an alarm means and what to try, in one sentence for `cfg`'s run; printed once per session
/// when the alarm first appears and shown under a notebook's chunk view.
pub fn advice(alarm: &str, cfg: &ExperimentConfig) -> Option<String> {
    let h = &cfg.health;
    Some(match alarm {
        "d_winning" if cfg.discriminator.augment.is_none() => format!(
            "d_winning: mean D(G(z)) stayed below {} for {} logged rows: D wins outright, which on a small \
             collection means it overfits the few real images and G's samples stop improving; augment what \
             D sees with ADA's adaptive p (`--set 'discriminator.augment={{\"p\":{{\"adaptive\":{{}}}}}}'`, as in \
             the ada-emoji32 preset; README: \"Augmenting what D sees\")",
            h.d_fake_floor, h.patience
        ),
        "d_winning" => format!(
            "d_winning: mean D(G(z)) stayed below {} for {} logged rows although D's images are augmented: \
             raise p (`discriminator.augment.p`), lower the adaptive target, or lower D's learning rate",
            h.d_fake_floor, h.patience
        ),
        "g_stalled" => format!(
            "g_stalled: a generator update moved its weights by less than {} (relative): check G's learning \
             rate and whether D's outputs have saturated",
            h.min_g_update
        ),
        "low_diversity" => format!(
            "low_diversity: the fixed samples became less than {} times as varied as real images: a hint of \
             mode collapse; look at the sample grid",
            h.min_diversity
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_d_winning_advice_suggests_augmentation_only_where_there_is_none() {
        let mut cfg = crate::config::preset("dcgan-emoji32").unwrap();
        let plain = advice("d_winning", &cfg).unwrap();
        let suggested = r#"discriminator.augment={"p":{"adaptive":{}}}"#;
        assert!(plain.contains(&format!("--set '{suggested}'")) && plain.contains("below 0.1 for 8 logged rows"), "{plain}");
        let adapted = cfg.with_settings(&[suggested]).unwrap();
        assert!(matches!(adapted.discriminator.augment, Some(crate::config::AugmentConfig { p: crate::config::AugmentProbability::Adaptive { .. }, .. })), "the suggested setting is ADA");
        cfg = crate::config::preset("ada-emoji32").unwrap();
        let augmented = advice("d_winning", &cfg).unwrap();
        assert!(augmented.contains("although D's images are augmented"), "{augmented}");
        assert!(advice("low_diversity", &cfg).is_some() && advice("g_stalled", &cfg).is_some());
        assert_eq!(advice("non_finite", &cfg), None, "non_finite stops the chunk with its own error");
    }
}
