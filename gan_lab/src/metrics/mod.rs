//! Sample-quality metrics on feature vectors, with their standard definitions:
//! Fréchet distance (FID/FLD), KID, improved precision/recall (Kynkäänniemi et al. 2019),
//! density/coverage (Naeem et al. 2020), class coverage with the KL divergence of the predicted
//! class histogram to uniform, and nearest-neighbour distance to the training set.
//!
//! Features are row-major `f32` (`rows × dim`). Distances are Euclidean.

#[cfg(feature = "engine")]
pub mod evaluate;
#[cfg(feature = "engine")]
pub mod features;
mod distance;
mod linalg;
pub mod modes;

pub use distance::distance_rows;
use distance::{parallel_map, row_dots};
pub use linalg::{mean_cov, sqrt_psd, symmetric_eigen, Square};

use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Fréchet distance between Gaussians fitted to `real` and `fake`:
/// ‖μr − μf‖² + Tr Σr + Tr Σf − 2 Tr (Σr^½ Σf Σr^½)^½.
pub fn frechet_distance(real: &[f32], fake: &[f32], dim: usize) -> f64 {
    let (mr, sr) = mean_cov(real, dim);
    let (mf, sf) = mean_cov(fake, dim);
    let mean_term: f64 = mr.iter().zip(&mf).map(|(a, b)| (a - b).powi(2)).sum();
    let root = sqrt_psd(&sr);
    let inner = root.matmul(&sf).matmul(&root);
    let (values, _) = symmetric_eigen(&inner);
    let tr_sqrt: f64 = values.iter().map(|v| v.max(0.0).sqrt()).sum();
    (mean_term + sr.trace() + sf.trace() - 2.0 * tr_sqrt).max(0.0)
}

/// KID: unbiased MMD² with the kernel k(x, y) = (x·y / dim + 1)³, mean and standard deviation over
/// `subsets` random subsets of `subset_size` rows from each side (drawn with `seed`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Kid {
    pub mean: f64,
    pub std: f64,
}

fn unbiased_mmd2(x: &[&[f32]], y: &[&[f32]], dim: usize) -> f64 {
    let k = |dot: f32| (dot as f64 / dim as f64 + 1.0).powi(3);
    let m = x.len() as f64;
    let n = y.len() as f64;
    let mut kxx = 0.0;
    let mut kyy = 0.0;
    let mut kxy = 0.0;
    let mut dots = Vec::with_capacity(x.len().max(y.len()));
    for i in 0..x.len() {
        row_dots(x[i], &x[i + 1..], &mut dots);
        dots.iter().for_each(|&d| kxx += 2.0 * k(d));
    }
    for i in 0..y.len() {
        row_dots(y[i], &y[i + 1..], &mut dots);
        dots.iter().for_each(|&d| kyy += 2.0 * k(d));
    }
    for a in x {
        row_dots(a, y, &mut dots);
        dots.iter().for_each(|&d| kxy += k(d));
    }
    kxx / (m * (m - 1.0)) + kyy / (n * (n - 1.0)) - 2.0 * kxy / (m * n)
}

fn pick_rows<'a>(rows: &[&'a [f32]], size: usize, rng: &mut ChaCha8Rng) -> Vec<&'a [f32]> {
    if size == rows.len() {
        rows.to_vec()
    } else {
        sample(rng, rows.len(), size).into_iter().map(|i| rows[i]).collect()
    }
}

pub fn kid(real: &[f32], fake: &[f32], dim: usize, subsets: usize, subset_size: usize, seed: u64) -> Kid {
    let r: Vec<&[f32]> = real.chunks(dim).collect();
    let f: Vec<&[f32]> = fake.chunks(dim).collect();
    let size = subset_size.min(r.len()).min(f.len()).max(2);
    if size == r.len() && size == f.len() {
        // Every subset would be both whole sets: one value, and no spread to report.
        return Kid { mean: unbiased_mmd2(&r, &f, dim), std: 0.0 };
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let picks: Vec<(Vec<&[f32]>, Vec<&[f32]>)> = (0..subsets.max(1))
        .map(|_| {
            let xs = pick_rows(&r, size, &mut rng);
            let ys = pick_rows(&f, size, &mut rng);
            (xs, ys)
        })
        .collect();
    let values = parallel_map(picks.len(), |i| unbiased_mmd2(&picks[i].0, &picks[i].1, dim));
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64;
    Kid { mean, std: var.sqrt() }
}

/// Distance of every row of `x` to its k-th nearest other row of `x`.
pub fn kth_neighbour_radii(x: &[f32], dim: usize, k: usize) -> Vec<f32> {
    neighbour_radii(x, dim, [k]).into_iter().next().expect("one k")
}

/// [`kth_neighbour_radii`] for each of `ks` from one pass over the distances: each row keeps its
/// max(ks) smallest distances to other rows in a sorted buffer (k is small), and reads each k-th.
fn neighbour_radii<const K: usize>(x: &[f32], dim: usize, ks: [usize; K]) -> [Vec<f32>; K] {
    let rows = distance_rows(x, x, dim, |i, row| {
        let k_max = ks.iter().copied().max().unwrap_or(1).clamp(1, row.len().saturating_sub(1).max(1));
        let mut nearest: Vec<f32> = Vec::with_capacity(k_max + 1);
        for (j, &d) in row.iter().enumerate() {
            if j == i || (nearest.len() == k_max && d >= nearest[k_max - 1]) {
                continue;
            }
            let at = nearest.partition_point(|&n| n <= d);
            nearest.insert(at, d);
            nearest.truncate(k_max);
        }
        ks.map(|k| if nearest.is_empty() { 0.0 } else { nearest[k.clamp(1, nearest.len()) - 1] })
    });
    std::array::from_fn(|m| rows.iter().map(|r| r[m]).collect())
}

/// Precision, recall (k for both manifolds), density and coverage (k for the real manifold).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prdc {
    pub precision: f64,
    pub recall: f64,
    pub density: f64,
    pub coverage: f64,
}

/// Improved precision/recall with `k_pr` neighbours and density/coverage with `k_dc`.
pub fn prdc(real: &[f32], fake: &[f32], dim: usize, k_pr: usize, k_dc: usize) -> Prdc {
    let (nr, nf) = (real.len() / dim, fake.len() / dim);
    let [real_r_pr, real_r_dc] = neighbour_radii(real, dim, [k_pr, k_dc]);
    let fake_r_pr = kth_neighbour_radii(fake, dim, k_pr);
    // For each fake: inside any real k_pr-ball? how many real k_dc-balls contain it?
    let per_fake = distance_rows(fake, real, dim, |_, row| {
        let inside_pr = row.iter().zip(&real_r_pr).any(|(d, r)| d <= r);
        let count_dc = row.iter().zip(&real_r_dc).filter(|(d, r)| d <= r).count();
        (inside_pr, count_dc)
    });
    // For each real: inside any fake k_pr-ball? is its k_dc-ball hit by any fake?
    let per_real = distance_rows(real, fake, dim, |i, row| {
        let inside_pr = row.iter().zip(&fake_r_pr).any(|(d, r)| d <= r);
        let nearest = row.iter().copied().fold(f32::INFINITY, f32::min);
        (inside_pr, nearest <= real_r_dc[i])
    });
    Prdc {
        precision: per_fake.iter().filter(|p| p.0).count() as f64 / nf as f64,
        recall: per_real.iter().filter(|p| p.0).count() as f64 / nr as f64,
        density: per_fake.iter().map(|p| p.1).sum::<usize>() as f64 / (k_dc * nf) as f64,
        coverage: per_real.iter().filter(|p| p.1).count() as f64 / nr as f64,
    }
}

/// Where each fake row lies against precision's real manifold (the union of the balls around the
/// real rows, each of radius its distance to its k-th nearest real neighbour): whether it is inside
/// one (what precision counts), and the smallest distance to a real row as a multiple of that row's
/// radius (below 1 inside; 1.1 means 10 % beyond the nearest edge).
pub fn manifold_ratios(real: &[f32], fake: &[f32], dim: usize, k: usize) -> Vec<(bool, f32)> {
    let radii = kth_neighbour_radii(real, dim, k);
    distance_rows(fake, real, dim, |_, row| {
        let inside = row.iter().zip(&radii).any(|(d, r)| d <= r);
        let ratio = row.iter().zip(&radii).map(|(d, r)| if *r > 0.0 { d / r } else if *d == 0.0 { 0.0 } else { f32::INFINITY }).fold(f32::INFINITY, f32::min);
        (inside, ratio)
    })
}

/// Fraction of the `classes` classes predicted at least once, and KL(predicted histogram ‖ uniform).
pub fn class_coverage(predicted: &[usize], classes: usize) -> (f64, f64) {
    let mut counts = vec![0usize; classes];
    for &p in predicted {
        if p < classes {
            counts[p] += 1;
        }
    }
    let n = predicted.len().max(1) as f64;
    let hit = counts.iter().filter(|&&c| c > 0).count() as f64 / classes as f64;
    let kl = counts.iter().filter(|&&c| c > 0).map(|&c| (c as f64 / n) * ((c as f64 / n) * classes as f64).ln()).sum();
    (hit, kl)
}

/// Mean distance from each row of `x` to its nearest row of `train` (memorisation check: compare
/// generated samples' value with held-out real images' value).
pub fn mean_nearest_distance(x: &[f32], train: &[f32], dim: usize) -> f64 {
    let nearest = distance_rows(x, train, dim, |_, row| row.iter().copied().fold(f32::INFINITY, f32::min) as f64);
    nearest.iter().sum::<f64>() / nearest.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixed feature arrays of `reference/metrics.py`.
    fn features(rows: usize, dim: usize, phase: f64, scale: f64) -> Vec<f32> {
        (0..rows * dim)
            .map(|t| {
                let (i, j) = ((t / dim) as f64, (t % dim) as f64);
                (scale * ((1.3 * i + 0.7 * j + phase).sin() + 0.5 * (0.31 * i * j + phase).cos())) as f32
            })
            .collect()
    }

    // Expected values: `python3 reference/metrics.py` (numpy + scipy.linalg.sqrtm).
    #[test]
    fn metrics_match_the_numpy_scipy_reference() {
        let real = features(40, 6, 0.0, 1.0);
        let fake = features(40, 6, 0.4, 1.3);
        let fd = frechet_distance(&real, &fake, 6);
        assert!((fd - REF_FD).abs() < 1e-6 * REF_FD.max(1.0), "fd {fd} vs {REF_FD}");
        let k = kid(&real, &fake, 6, 1, 40, 0);
        assert!((k.mean - REF_KID).abs() < 1e-6, "kid {} vs {REF_KID}", k.mean);
        let p = prdc(&real, &fake, 6, 3, 5);
        assert_eq!([p.precision, p.recall, p.density, p.coverage], REF_PRDC, "{p:?}");
        let nn = mean_nearest_distance(&fake, &real, 6);
        assert!((nn - REF_NN).abs() < 1e-5, "nn {nn} vs {REF_NN}");
    }

    #[test]
    fn kid_on_sets_no_larger_than_a_subset_is_one_value_without_spread() {
        let real = features(40, 6, 0.0, 1.0);
        let fake = features(40, 6, 0.4, 1.3);
        let whole = kid(&real, &fake, 6, 50, 1000, 0);
        assert_eq!(whole, Kid { mean: kid(&real, &fake, 6, 1, 40, 0).mean, std: 0.0 });
        let halves = kid(&real, &fake, 6, 50, 20, 0);
        assert!(halves.std > 0.0, "subsets of 20 of 40 differ: {halves:?}");
    }

    const REF_FD: f64 = 0.3388955208073021;
    const REF_KID: f64 = 0.00804562483789617;
    const REF_PRDC: [f64; 4] = [0.925, 1.0, 0.72, 1.0];
    const REF_NN: f64 = 0.8406216013473802;

    #[test]
    fn the_frechet_distance_of_a_set_to_itself_is_zero() {
        let x = features(50, 4, 0.0, 1.0);
        assert!(frechet_distance(&x, &x, 4).abs() < 1e-9);
    }

    #[test]
    fn radii_for_several_k_are_each_rows_kth_smallest_distance_to_the_others() {
        // Rows 0 and 1 coincide (a tie at distance 0); 6 rows, so k = 9 means the farthest other.
        let mut x = features(6, 4, 0.2, 1.0);
        x.copy_within(0..4, 4);
        let [r1, r3, r9] = neighbour_radii(&x, 4, [1, 3, 9]);
        let all = distance_rows(&x, &x, 4, |_, row| row.to_vec());
        for (k, got) in [(1, &r1), (3, &r3), (9, &r9)] {
            for (i, &r) in got.iter().enumerate() {
                let mut others: Vec<f32> = all[i].iter().enumerate().filter(|&(j, _)| j != i).map(|(_, d)| *d).collect();
                others.sort_by(f32::total_cmp);
                assert_eq!(r, others[k.min(others.len()) - 1], "k {k}, row {i}");
            }
            assert_eq!(kth_neighbour_radii(&x, 4, k), *got);
        }
        assert_eq!((r1[0], r1[1]), (0.0, 0.0));
        assert_eq!(kth_neighbour_radii(&x[..4], 4, 3), vec![0.0], "one row has no neighbour");
    }

    #[test]
    fn the_share_inside_the_manifold_is_precision_and_ratios_say_how_far_outside() {
        let (real, fake) = (features(40, 6, 0.0, 1.0), features(30, 6, 0.9, 1.3));
        let look = manifold_ratios(&real, &fake, 6, 3);
        let inside = look.iter().filter(|l| l.0).count() as f64 / look.len() as f64;
        assert_eq!(inside, prdc(&real, &fake, 6, 3, 5).precision);
        assert!(inside > 0.0 && inside < 1.0, "the fixture has samples on both sides: {inside}");
        assert!(look.iter().all(|&(i, r)| if i { r <= 1.0 } else { r > 1.0 }), "{look:?}");
        // A real row itself sits at the centre of its own ball.
        assert!(manifold_ratios(&real, &real[..6], 6, 3)[0] == (true, 0.0));
    }

    #[test]
    fn a_collapsed_generator_has_no_coverage_and_no_recall() {
        let real = features(60, 5, 0.0, 1.0);
        let one = &real[..5];
        let fake: Vec<f32> = one.iter().copied().cycle().take(60 * 5).collect();
        let p = prdc(&real, &fake, 5, 3, 5);
        assert!(p.recall <= 1.0 / 60.0 + 1e-12, "{p:?}");
        assert!(p.coverage <= 3.0 / 60.0, "{p:?}");
    }

    #[test]
    fn class_coverage_counts_classes_hit_and_kl_is_zero_when_uniform() {
        let (hit, kl) = class_coverage(&[0, 1, 2, 3], 4);
        assert_eq!(hit, 1.0);
        assert!(kl.abs() < 1e-12);
        let (hit, kl) = class_coverage(&[2, 2, 2, 2], 4);
        assert_eq!(hit, 0.25);
        assert!((kl - 4f64.ln()).abs() < 1e-12);
    }
}
