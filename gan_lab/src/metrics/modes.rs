//! Modes covered on Stacked MNIST, as VEEGAN and PacGAN count them: each channel of a sample is
//! classified as a digit by the MNIST feature network, the three digits name its mode (of 1000),
//! and the samples give the number of modes they cover and KL(mode histogram ‖ uniform) in nats.
//! For context (PacGAN, Table 2, VEEGAN's setup, 26,000 samples): DCGAN 99 modes, KL 3.40;
//! PacDCGAN2 1000 modes, KL 0.06.

use crate::error::{Error, Result};

/// Modes of Stacked MNIST: 10 × 10 × 10 digit triples.
pub const STACKED_MODES: usize = 1000;
/// Samples whose modes an evaluation counts, as PacGAN's and VEEGAN's tables do (a generator
/// that hits every mode equally covers 1000 · (1 − e⁻²⁶) ≈ all of them, with KL ≈ 0.02).
pub const MODE_SAMPLES: usize = 26_000;

/// The modes a set of samples covers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModeCoverage {
    /// Modes with at least one sample (of [`STACKED_MODES`]).
    pub modes: usize,
    /// KL(the samples' mode histogram ‖ uniform over the 1000 modes), nats: 0 when every mode is
    /// equally frequent, ln 1000 ≈ 6.91 when every sample has the same mode.
    pub kl: f64,
    pub samples: usize,
}

/// The coverage of samples whose channels were classified as `digits` (first channel first).
pub fn mode_coverage(digits: &[[usize; 3]]) -> Result<ModeCoverage> {
    if digits.is_empty() {
        return Err(Error::Other("mode coverage needs at least one sample".into()));
    }
    let mut histogram = [0usize; STACKED_MODES];
    for d in digits {
        if let Some(bad) = d.iter().find(|v| **v > 9) {
            return Err(Error::Other(format!("a Stacked MNIST channel is a digit 0–9, got class {bad}")));
        }
        histogram[d[0] * 100 + d[1] * 10 + d[2]] += 1;
    }
    let n = digits.len() as f64;
    let kl = histogram.iter().filter(|c| **c > 0).map(|&c| {
        let p = c as f64 / n;
        p * (p * STACKED_MODES as f64).ln()
    });
    Ok(ModeCoverage { modes: histogram.iter().filter(|c| **c > 0).count(), kl: kl.sum::<f64>().max(0.0), samples: digits.len() })
}

/// The digits of each channel of `n` Stacked MNIST images (CHW, 3 × 28 × 28, values in [-1, 1]),
/// as the MNIST feature network `fx` classifies them.
#[cfg(feature = "engine")]
pub fn stacked_digits(fx: &super::features::FeatureExtractor, pixels: &[f32], n: usize, size: usize) -> Result<Vec<[usize; 3]>> {
    if pixels.len() != n * 3 * size * size || fx.card.channels != 1 {
        return Err(Error::Other(format!(
            "Stacked MNIST samples are 3 × {size} × {size}, read by a grey network; got {} values for {n} images and a {}-channel network",
            pixels.len(), fx.card.channels
        )));
    }
    Ok(digit_triples(&super::evaluate::features(fx, pixels, n, [3, size, size])?.1))
}

/// Per-channel classes (an image's three channels one after another) as one triple per image.
pub fn digit_triples(classes: &[usize]) -> Vec<[usize; 3]> {
    classes.chunks_exact(3).map(|t| [t[0], t[1], t[2]]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_and_kl_of_uniform_collapsed_and_partial_histograms() {
        let all: Vec<[usize; 3]> = (0..1000).map(|m| [m / 100, m / 10 % 10, m % 10]).collect();
        assert_eq!(mode_coverage(&all).unwrap(), ModeCoverage { modes: 1000, kl: 0.0, samples: 1000 });
        let one = mode_coverage(&[[3, 1, 4]; 50]).unwrap();
        assert_eq!(one.modes, 1);
        assert!((one.kl - 1000f64.ln()).abs() < 1e-12, "{one:?}");
        // 100 modes equally often: KL = ln(1000 / 100).
        let hundred: Vec<[usize; 3]> = (0..100).map(|m| [7, m / 10, m % 10]).collect();
        let h = mode_coverage(&hundred).unwrap();
        assert_eq!(h.modes, 100);
        assert!((h.kl - 10f64.ln()).abs() < 1e-12, "{h:?}");
        assert!(mode_coverage(&[[1, 10, 2]]).unwrap_err().to_string().contains("got class 10"));
        assert!(mode_coverage(&[]).is_err());
    }
}
