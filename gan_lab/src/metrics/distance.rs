//! Dot products and Euclidean distances between rows of features: the inner loops of every
//! neighbour-based metric (precision/recall, density/coverage, the memorisation check) and KID.
//!
//! Every dot product is summed in one order, whichever path computes it: eight running sums
//! (position k goes to sum k mod 8), those eight added in order, then the tail. The blocked paths
//! below only reuse loads (eight rows of `a` against one row of `b`, a tile of `b` kept in cache)
//! and run the same arithmetic on wider registers where the CPU has them (AVX2, found at run
//! time), so their results are bit-identical to [`dot`] one pair at a time.

/// Running sums per dot product; position k of a row adds to sum k mod `LANES`.
const LANES: usize = 8;
/// Rows that share each load of the row they are multiplied with (eight running sums of eight
/// floats each: enough independent additions to keep the adder busy).
const ROWS: usize = 8;
/// Rows of `a` one task computes distances for (their rows of distances are kept until reduced).
const TASK_ROWS: usize = 64;
/// Rows of `b` read per pass over a task's rows of `a` (256 rows of 128 floats: 128 KiB, in L2).
const TILE: usize = 256;

/// x · y in the module's summation order.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    dots([a], b)[0]
}

/// The dot products of each of `xs` with `y`, each in the module's summation order; `y` is read
/// once for all of them.
#[inline(always)]
fn dots<const R: usize>(xs: [&[f32]; R], y: &[f32]) -> [f32; R] {
    let mut acc = [[0f32; LANES]; R];
    let whole = y.len() / LANES * LANES;
    for k in (0..whole).step_by(LANES) {
        let yc: &[f32; LANES] = y[k..k + LANES].try_into().expect("LANES floats");
        for (sums, x) in acc.iter_mut().zip(&xs) {
            let xc: &[f32; LANES] = x[k..k + LANES].try_into().expect("LANES floats");
            for l in 0..LANES {
                sums[l] += xc[l] * yc[l];
            }
        }
    }
    let mut out = [0f32; R];
    for ((o, sums), x) in out.iter_mut().zip(&acc).zip(&xs) {
        let tail: f32 = x[whole..y.len()].iter().zip(&y[whole..]).map(|(p, q)| p * q).sum();
        *o = sums.iter().sum::<f32>() + tail;
    }
    out
}

/// Distances from `xs` (squared norms `nx`) to rows `j0..` of `b` (squared norms `nb`), written
/// into `out[r][j0..]`, with the dot products of `dots`.
#[inline(always)]
fn tile_with<const R: usize>(dots: impl Fn([&[f32]; R], &[f32]) -> [f32; R], xs: [&[f32]; R], nx: [f32; R], b: &[f32], nb: &[f32], dim: usize, j0: usize, out: &mut [Vec<f32>]) {
    for (j, (y, ny)) in b.chunks_exact(dim).zip(nb).enumerate() {
        let d = dots(xs, y);
        for r in 0..R {
            out[r][j0 + j] = (nx[r] + ny - 2.0 * d[r]).max(0.0).sqrt();
        }
    }
}

/// Distances from rows `rows` of `a` to every row of `b`, tile by tile of `b`: `tile_rows` computes
/// a tile for `ROWS` rows of `a` at a time, `tile1` for each row left over.
fn distance_task(a: &[f32], rows: std::ops::Range<usize>, b: &[f32], nb: &[f32], dim: usize, tile_rows: TileFn<ROWS>, tile1: TileFn<1>) -> Vec<Vec<f32>> {
    let mut out = vec![vec![0f32; nb.len()]; rows.len()];
    let x = |i: usize| &a[i * dim..(i + 1) * dim];
    for (t, (tile, tile_norms)) in b.chunks(TILE * dim).zip(nb.chunks(TILE)).enumerate() {
        let j0 = t * TILE;
        let mut r = 0;
        while r + ROWS <= rows.len() {
            let xs: [&[f32]; ROWS] = std::array::from_fn(|k| x(rows.start + r + k));
            let nx = xs.map(|v| dot(v, v));
            tile_rows(xs, nx, tile, tile_norms, dim, j0, &mut out[r..r + ROWS]);
            r += ROWS;
        }
        for r in r..rows.len() {
            let v = x(rows.start + r);
            tile1([v], [dot(v, v)], tile, tile_norms, dim, j0, &mut out[r..r + 1]);
        }
    }
    out
}

/// A function computing one tile of distances for `R` rows of `a` (see [`tile_with`]).
type TileFn<const R: usize> = fn([&[f32]; R], [f32; R], &[f32], &[f32], usize, usize, &mut [Vec<f32>]);

/// [`dots`] with AVX2 intrinsics: lane l of one 8-float register is running sum l, and each step
/// multiplies, then adds (no fused multiply-add), as the portable code does.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn dots_avx2<const R: usize>(xs: [&[f32]; R], y: &[f32]) -> [f32; R] {
    use std::arch::x86_64::{_mm256_add_ps, _mm256_loadu_ps, _mm256_mul_ps, _mm256_setzero_ps, _mm256_storeu_ps};
    let whole = y.len() / LANES * LANES;
    assert!(xs.iter().all(|x| x.len() == y.len()), "rows of one length");
    let mut acc = [_mm256_setzero_ps(); R];
    for k in (0..whole).step_by(LANES) {
        // SAFETY: k + LANES <= whole <= y.len(), the length of every row in xs (asserted).
        unsafe {
            let yv = _mm256_loadu_ps(y.as_ptr().add(k));
            for r in 0..R {
                acc[r] = _mm256_add_ps(acc[r], _mm256_mul_ps(_mm256_loadu_ps(xs[r].as_ptr().add(k)), yv));
            }
        }
    }
    let mut out = [0f32; R];
    for r in 0..R {
        let mut sums = [0f32; LANES];
        // SAFETY: sums holds LANES floats.
        unsafe { _mm256_storeu_ps(sums.as_mut_ptr(), acc[r]) };
        let tail: f32 = xs[r][whole..].iter().zip(&y[whole..]).map(|(p, q)| p * q).sum();
        out[r] = sums.iter().sum::<f32>() + tail;
    }
    out
}

/// A tile of distances (see [`tile_with`]) with the portable [`dots`].
fn distance_tile<const R: usize>(xs: [&[f32]; R], nx: [f32; R], b: &[f32], nb: &[f32], dim: usize, j0: usize, out: &mut [Vec<f32>]) {
    tile_with(dots, xs, nx, b, nb, dim, j0, out)
}

/// A tile of distances (see [`tile_with`]) with [`dots_avx2`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn distance_tile_avx2<const R: usize>(xs: [&[f32]; R], nx: [f32; R], b: &[f32], nb: &[f32], dim: usize, j0: usize, out: &mut [Vec<f32>]) {
    tile_with(|xs, y| dots_avx2(xs, y), xs, nx, b, nb, dim, j0, out)
}

/// Distances from rows `rows` of `a` to every row of `b`: with AVX2 when the CPU has it.
fn distance_rows_of(a: &[f32], rows: std::ops::Range<usize>, b: &[f32], nb: &[f32], dim: usize) -> Vec<Vec<f32>> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY (both): the CPU has AVX2, checked on the line above.
        let tile_rows: TileFn<ROWS> = |xs, nx, b, nb, dim, j0, out| unsafe { distance_tile_avx2(xs, nx, b, nb, dim, j0, out) };
        let tile1: TileFn<1> = |xs, nx, b, nb, dim, j0, out| unsafe { distance_tile_avx2(xs, nx, b, nb, dim, j0, out) };
        return distance_task(a, rows, b, nb, dim, tile_rows, tile1);
    }
    distance_task(a, rows, b, nb, dim, distance_tile::<ROWS>, distance_tile::<1>)
}

/// The dot products of `y` with each of `xs`, in order, into `out` (cleared first): `ROWS` rows at
/// a time, with AVX2 when the CPU has it.
pub fn row_dots(y: &[f32], xs: &[&[f32]], out: &mut Vec<f32>) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked on the line above.
        return unsafe { row_dots_avx2(y, xs, out) };
    }
    row_dots_with(dots, dots, y, xs, out)
}

/// [`row_dots`] with AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn row_dots_avx2(y: &[f32], xs: &[&[f32]], out: &mut Vec<f32>) {
    row_dots_with(|xs, y| dots_avx2(xs, y), |xs, y| dots_avx2(xs, y), y, xs, out)
}

#[inline(always)]
fn row_dots_with(block: impl Fn([&[f32]; ROWS], &[f32]) -> [f32; ROWS], one: impl Fn([&[f32]; 1], &[f32]) -> [f32; 1], y: &[f32], xs: &[&[f32]], out: &mut Vec<f32>) {
    out.clear();
    let mut blocks = xs.chunks_exact(ROWS);
    for b in &mut blocks {
        out.extend(block(b.try_into().expect("ROWS rows"), y));
    }
    for x in blocks.remainder() {
        out.push(one([x], y)[0]);
    }
}

/// Runs `f(i)` for i in 0..n on every core, in contiguous blocks, and returns the results in order.
pub fn parallel_map<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism().map(|t| t.get()).unwrap_or(1).min(n.max(1));
    let chunk = n.div_ceil(threads).max(1);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n).step_by(chunk).map(|start| s.spawn(move || (start..(start + chunk).min(n)).map(f).collect::<Vec<T>>())).collect();
        handles.into_iter().flat_map(|h| h.join().expect("metrics worker")).collect()
    })
}

/// Euclidean distances from every row of `a` to every row of `b`, on all cores; `reduce(i, row)`
/// turns row i's distances into what the caller keeps.
pub fn distance_rows<T: Send>(a: &[f32], b: &[f32], dim: usize, reduce: impl Fn(usize, &[f32]) -> T + Sync) -> Vec<T> {
    let na = a.len() / dim;
    let nb: Vec<f32> = b.chunks_exact(dim).map(|r| dot(r, r)).collect();
    let tasks = parallel_map(na.div_ceil(TASK_ROWS), |t| {
        let rows = t * TASK_ROWS..((t + 1) * TASK_ROWS).min(na);
        let out = distance_rows_of(a, rows.clone(), b, &nb, dim);
        rows.zip(out).map(|(i, row)| reduce(i, &row)).collect::<Vec<T>>()
    });
    tasks.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pre-blocking definition: one pair at a time.
    fn reference_dot(a: &[f32], b: &[f32]) -> f32 {
        let mut acc = [0f32; 8];
        let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
        let (ra, rb) = (ca.remainder(), cb.remainder());
        for (x, y) in ca.zip(cb) {
            for k in 0..8 {
                acc[k] += x[k] * y[k];
            }
        }
        let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
        acc.iter().sum::<f32>() + tail
    }

    fn rows(n: usize, dim: usize, seed: u32) -> Vec<f32> {
        (0..n * dim).map(|i| ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 8) as f32 / 16_777_216.0 - 0.5).collect()
    }

    #[test]
    fn blocked_distances_are_bit_identical_to_one_pair_at_a_time() {
        // Sizes that leave partial row blocks, partial tiles and a tail in the dot products.
        for (na, nb, dim) in [(1, 1, 3), (7, 300, 13), (130, 517, 128), (5, 2, 8)] {
            let (a, b) = (rows(na, dim, 1), rows(nb, dim, 2));
            let got = distance_rows(&a, &b, dim, |_, row| row.to_vec());
            for i in 0..na {
                let x = &a[i * dim..(i + 1) * dim];
                for j in 0..nb {
                    let y = &b[j * dim..(j + 1) * dim];
                    let want = (reference_dot(x, x) + reference_dot(y, y) - 2.0 * reference_dot(x, y)).max(0.0).sqrt();
                    assert_eq!(got[i][j].to_bits(), want.to_bits(), "{na}×{nb}×{dim} at ({i}, {j})");
                }
            }
        }
    }

    #[test]
    fn row_dots_are_bit_identical_to_one_pair_at_a_time() {
        for (n, dim) in [(0, 5), (1, 8), (8, 13), (19, 128), (17, 7)] {
            let (xs, y) = (rows(n, dim, 5), rows(1, dim, 6));
            let xs: Vec<&[f32]> = xs.chunks(dim).collect();
            let mut got = vec![1.0; 3];
            row_dots(&y, &xs, &mut got);
            let want: Vec<u32> = xs.iter().map(|x| reference_dot(x, &y).to_bits()).collect();
            assert_eq!(got.iter().map(|d| d.to_bits()).collect::<Vec<_>>(), want, "{n} rows of {dim}");
            assert!(xs.iter().zip(&want).all(|(x, w)| dot(x, &y).to_bits() == *w), "dot, {n} rows of {dim}");
        }
    }

    #[test]
    fn reduce_sees_each_row_once_in_order() {
        let (a, b) = (rows(70, 4, 3), rows(9, 4, 4));
        let got = distance_rows(&a, &b, 4, |i, row| (i, row.len()));
        assert_eq!(got, (0..70).map(|i| (i, 9)).collect::<Vec<_>>());
    }
}
