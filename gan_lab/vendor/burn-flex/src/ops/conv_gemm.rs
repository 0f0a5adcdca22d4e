//! gan_lab patch: f32 2-D convolution and transposed convolution, forward and both backward
//! passes, as one im2col (or col2im) over the whole batch and one large gemm per group.
//!
//! Upstream runs the 2-D ops through its 3-D path (reshape copies, one small gemm per image) and
//! leaves the backward passes to burn's generic defaults (transposed copies of the weights and
//! gradients, then a convolution). For the GAN layers gan_lab trains (4×4 kernels, stride 2, 7×7
//! to 28×28 maps, 64–256 channels) those small per-image products ran far below the gemm
//! kernel's speed. Here every product is `[rows, K] × [K, batch·pixels]`, wide enough for gemm's
//! threads, and the reorderings around it are parallel copies.
//!
//! Layouts: images are NCHW; a "column matrix" has one row per (channel, ky, kx) and one column
//! per (image, output pixel); a "channel-major" matrix `[C, N·P]` is an NCHW tensor with its first
//! two axes swapped.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use burn_backend::DType;
use burn_backend::ops::{ConvOptions, ConvTransposeOptions};
use burn_std::stub::Mutex;
use burn_std::{Bytes, Shape};

use crate::{FlexTensor, Layout};

#[cfg(feature = "rayon")]
use rayon::prelude::*;

/// Geometry of a 2-D convolution from a `[n, c, h, w]` image to `[n, ·, oh, ow]`. A transposed
/// convolution uses the geometry of the convolution it is the transpose of (image = its output).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Geometry {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    stride: [usize; 2],
    padding: [usize; 2],
    dilation: [usize; 2],
    oh: usize,
    ow: usize,
}

impl Geometry {
    fn pixels(&self) -> usize {
        self.oh * self.ow
    }
    fn columns(&self) -> usize {
        self.n * self.pixels()
    }
    fn taps(&self) -> usize {
        self.kh * self.kw
    }
    /// For kernel tap `k` along axis `a` (0 rows, 1 columns): the first source coordinate
    /// (possibly negative) and the range of output coordinates whose source lies inside `size`.
    #[inline(always)]
    fn span(&self, a: usize, k: usize, size: usize, outputs: usize) -> (isize, core::ops::Range<usize>) {
        let (s, off) = (self.stride[a] as isize, (k * self.dilation[a]) as isize - self.padding[a] as isize);
        let lo = if off >= 0 { 0 } else { ((-off + s - 1) / s) as usize };
        let last = size as isize - 1 - off;
        let hi = if last < 0 { 0 } else { ((last / s + 1) as usize).min(outputs) };
        (off, lo..hi.max(lo))
    }
}

fn out_size(size: usize, k: usize, stride: usize, pad: usize, dil: usize) -> usize {
    (size + 2 * pad - dil * (k - 1) - 1) / stride + 1
}

/// A raw pointer that may cross threads: each task writes a disjoint part.
#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

/// A buffer every element of which the caller writes before any is read (gemm outputs,
/// reorderings, column matrices): no zero fill, which was 6 % of a dcgan28 step.
fn buffer(len: usize) -> Vec<f32> {
    let mut v = Vec::with_capacity(len);
    // SAFETY: f32 has no invalid bit patterns, and every caller writes all `len` elements
    // before reading any.
    unsafe { v.set_len(len) };
    v
}

fn f32_data(t: &FlexTensor) -> FlexTensor {
    assert_eq!(t.dtype(), DType::F32, "conv_gemm: f32 only");
    t.to_contiguous()
}

fn slice(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().expect("contiguous f32")
}

fn tensor(data: Vec<f32>, shape: [usize; 4]) -> FlexTensor {
    FlexTensor::new(Bytes::from_elems(data), Layout::contiguous(Shape::from(shape.to_vec())), DType::F32)
}

fn dims4(t: &FlexTensor) -> [usize; 4] {
    let s = t.layout().shape();
    assert_eq!(s.num_dims(), 4, "conv_gemm: 4-D tensors only");
    [s[0], s[1], s[2], s[3]]
}

/// Runs `f(i, chunk)` on consecutive `len`-element chunks of `data`, in parallel when possible.
fn for_chunks(data: &mut [f32], len: usize, f: impl Fn(usize, &mut [f32]) + Send + Sync) {
    #[cfg(feature = "rayon")]
    data.par_chunks_mut(len).enumerate().for_each(|(i, c)| f(i, c));
    #[cfg(not(feature = "rayon"))]
    data.chunks_mut(len).enumerate().for_each(|(i, c)| f(i, c));
}

/// Runs `f(i)` for `i` in `0..n`, in parallel when possible.
fn for_each_index(n: usize, f: impl Fn(usize) + Send + Sync) {
    #[cfg(feature = "rayon")]
    (0..n).into_par_iter().for_each(f);
    #[cfg(not(feature = "rayon"))]
    (0..n).for_each(f);
}

/// Column matrix `[cg·kh·kw, n·oh·ow]` of channels `c0 .. c0 + cg` of `image` (`[n, c, h, w]`).
fn im2col(image: &[f32], g: &Geometry, c0: usize, cg: usize) -> Vec<f32> {
    let cols = g.columns();
    let mut out = buffer(cg * g.taps() * cols);
    for_chunks(&mut out, cols, |row, dst| {
        let (c, tap) = (c0 + row / g.taps(), row % g.taps());
        let (ky, kx) = (tap / g.kw, tap % g.kw);
        let (y_off, ys) = g.span(0, ky, g.h, g.oh);
        let (x_off, xs) = g.span(1, kx, g.w, g.ow);
        let sx = g.stride[1];
        for n in 0..g.n {
            let plane = &image[(n * g.c + c) * g.h * g.w..][..g.h * g.w];
            for oy in 0..g.oh {
                let d = &mut dst[n * g.pixels() + oy * g.ow..][..g.ow];
                if !ys.contains(&oy) || xs.is_empty() {
                    d.fill(0.0);
                    continue;
                }
                let iy = (oy as isize * g.stride[0] as isize + y_off) as usize;
                let src = &plane[iy * g.w..][..g.w];
                let first = (xs.start as isize * sx as isize + x_off) as usize;
                d[..xs.start].fill(0.0);
                d[xs.end..].fill(0.0);
                if sx == 1 {
                    d[xs.clone()].copy_from_slice(&src[first..first + xs.len()]);
                } else {
                    for (v, &x) in d[xs.clone()].iter_mut().zip(src[first..].iter().step_by(sx)) {
                        *v = x;
                    }
                }
            }
        }
    });
    out
}

/// Column matrices kept between the passes that need the same one: a convolution's forward
/// pass and its weight gradient (im2col of x), a transposed convolution's input and weight
/// gradients (im2col of the output gradient). An entry holds its source tensor, so the storage it
/// was made from can neither be freed and reused nor changed in place while it is cached.
struct CachedCols {
    source: FlexTensor,
    geometry: Geometry,
    channels: (usize, usize),
    cols: Arc<Vec<f32>>,
}

static COLS: Mutex<Vec<CachedCols>> = Mutex::new(Vec::new());
const CACHED: usize = 4;

fn same_source(a: &FlexTensor, b: &FlexTensor) -> bool {
    Arc::ptr_eq(&a.data_arc(), &b.data_arc()) && a.layout() == b.layout()
}

/// How a pass uses the cache.
#[derive(Clone, Copy, PartialEq)]
enum Reuse {
    /// Compute and keep for a later pass.
    Keep,
    /// Use a kept matrix (and drop it: no later pass needs it), or compute.
    Take,
}

/// `im2col(source)`, through the cache.
fn cols_of(source: &FlexTensor, g: &Geometry, c0: usize, cg: usize, reuse: Reuse) -> Arc<Vec<f32>> {
    let found = |e: &CachedCols| e.geometry == *g && e.channels == (c0, cg) && same_source(&e.source, source);
    {
        let mut cache = COLS.lock().unwrap();
        if let Some(i) = cache.iter().position(found) {
            return match reuse {
                Reuse::Take => cache.remove(i).cols,
                Reuse::Keep => cache[i].cols.clone(),
            };
        }
    }
    let cols = Arc::new(im2col(slice(source), g, c0, cg));
    if reuse == Reuse::Keep {
        let mut cache = COLS.lock().unwrap();
        cache.insert(0, CachedCols { source: source.clone(), geometry: *g, channels: (c0, cg), cols: cols.clone() });
        cache.truncate(CACHED);
    }
    cols
}

/// Adds a column matrix of channels `c0 .. c0 + cg` back into `image` (`[n, c, h, w]`): the
/// transpose of `im2col`.
fn col2im(cols: &[f32], g: &Geometry, c0: usize, cg: usize, image: &mut [f32]) {
    let ptr = SendPtr(image.as_mut_ptr());
    let ncols = g.columns();
    // One task per channel: a channel's planes are written by that task only.
    for_each_index(cg, move |ci| {
        let ptr = ptr;
        let c = c0 + ci;
        for n in 0..g.n {
            // SAFETY: plane (n, c) is touched by the task of channel c alone, and lies inside `image`.
            let plane = unsafe { core::slice::from_raw_parts_mut(ptr.0.add((n * g.c + c) * g.h * g.w), g.h * g.w) };
            for tap in 0..g.taps() {
                let (ky, kx) = (tap / g.kw, tap % g.kw);
                let (y_off, ys) = g.span(0, ky, g.h, g.oh);
                let (x_off, xs) = g.span(1, kx, g.w, g.ow);
                let sx = g.stride[1];
                if xs.is_empty() {
                    continue;
                }
                let row = &cols[(ci * g.taps() + tap) * ncols + n * g.pixels()..][..g.pixels()];
                for oy in ys.clone() {
                    let iy = (oy as isize * g.stride[0] as isize + y_off) as usize;
                    let first = (xs.start as isize * sx as isize + x_off) as usize;
                    let dst = &mut plane[iy * g.w + first..(iy + 1) * g.w];
                    let src = &row[oy * g.ow..][xs.clone()];
                    for (d, &v) in dst.iter_mut().step_by(sx).zip(src) {
                        *d += v;
                    }
                }
            }
        }
    });
}

/// `[n, c, p]` → `[c, n·p]`.
fn to_channel_major(x: &[f32], n: usize, c: usize, p: usize) -> Vec<f32> {
    let mut out = buffer(x.len());
    for_chunks(&mut out, n * p, |ci, dst| {
        for i in 0..n {
            dst[i * p..(i + 1) * p].copy_from_slice(&x[(i * c + ci) * p..][..p]);
        }
    });
    out
}

/// `[c, n·p]` → `[n, c, p]`, adding `bias[c]` when given.
fn from_channel_major(x: &[f32], n: usize, c: usize, p: usize, bias: Option<&[f32]>) -> Vec<f32> {
    let mut out = buffer(x.len());
    for_chunks(&mut out, c * p, |i, dst| {
        for ci in 0..c {
            let d = &mut dst[ci * p..(ci + 1) * p];
            d.copy_from_slice(&x[ci * n * p + i * p..][..p]);
            if let Some(b) = bias {
                d.iter_mut().for_each(|v| *v += b[ci]);
            }
        }
    });
    out
}

/// A strided matrix view: element (r, c) at `data[r·rs + c·cs]`.
#[derive(Clone, Copy)]
struct Mat<'a> {
    data: &'a [f32],
    rs: usize,
    cs: usize,
}

fn rows(data: &[f32], cols: usize) -> Mat<'_> {
    Mat { data, rs: cols, cs: 1 }
}

fn transposed(data: &[f32], cols: usize) -> Mat<'_> {
    Mat { data, rs: 1, cs: cols }
}

/// `dst[m × n] (row-major) = lhs[m × k] · rhs[k × n]`.
fn gemm(m: usize, n: usize, k: usize, dst: &mut [f32], lhs: Mat, rhs: Mat) {
    assert!(dst.len() >= m * n);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        dst[..m * n].fill(0.0);
        return;
    }
    #[cfg(feature = "rayon")]
    let parallelism = if m * n * k >= 64 * 64 * 64 { gemm::Parallelism::Rayon(0) } else { gemm::Parallelism::None };
    #[cfg(not(feature = "rayon"))]
    let parallelism = gemm::Parallelism::None;
    // SAFETY: every index the strides reach is inside the slices (checked by the callers' shapes).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            false,
            lhs.data.as_ptr(),
            lhs.cs as isize,
            lhs.rs as isize,
            rhs.data.as_ptr(),
            rhs.cs as isize,
            rhs.rs as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

fn conv_geometry(x: [usize; 4], w: [usize; 4], o: &ConvOptions<2>) -> Geometry {
    let [n, c, h, wd] = x;
    let [_, _, kh, kw] = w;
    Geometry {
        n,
        c,
        h,
        w: wd,
        kh,
        kw,
        stride: o.stride,
        padding: o.padding,
        dilation: o.dilation,
        oh: out_size(h, kh, o.stride[0], o.padding[0], o.dilation[0]),
        ow: out_size(wd, kw, o.stride[1], o.padding[1], o.dilation[1]),
    }
}

/// Whether these kernels handle a convolution (everything but zero-sized dimensions).
pub fn supported(x: &FlexTensor, weight: &FlexTensor) -> bool {
    x.dtype() == DType::F32
        && weight.dtype() == DType::F32
        && x.layout().shape().num_dims() == 4
        && weight.layout().shape().num_dims() == 4
        && x.layout().shape().num_elements() > 0
        && weight.layout().shape().num_elements() > 0
}

/// conv2d: x `[n, c_in, h, w]`, weight `[c_out, c_in / groups, kh, kw]` → `[n, c_out, oh, ow]`.
pub fn conv2d(x: FlexTensor, weight: FlexTensor, bias: Option<FlexTensor>, o: &ConvOptions<2>) -> FlexTensor {
    let (x, weight) = (f32_data(&x), f32_data(&weight));
    let bias = bias.map(|b| f32_data(&b));
    let wd = dims4(&weight);
    let g = conv_geometry(dims4(&x), wd, o);
    let (groups, c_out) = (o.groups, wd[0]);
    let (cin_g, cout_g) = (g.c / groups, c_out / groups);
    let k = cin_g * g.taps();
    let mut out = buffer(c_out * g.columns());
    for grp in 0..groups {
        let cols = cols_of(&x, &g, grp * cin_g, cin_g, Reuse::Keep);
        let w = &slice(&weight)[grp * cout_g * k..][..cout_g * k];
        gemm(cout_g, g.columns(), k, &mut out[grp * cout_g * g.columns()..], rows(w, k), rows(&cols, g.columns()));
    }
    let out = from_channel_major(&out, g.n, c_out, g.pixels(), bias.as_ref().map(slice));
    tensor(out, [g.n, c_out, g.oh, g.ow])
}

/// Gradient of conv2d with respect to x.
pub fn conv2d_x_backward(x: FlexTensor, weight: FlexTensor, grad: FlexTensor, o: &ConvOptions<2>) -> FlexTensor {
    let (weight, grad) = (f32_data(&weight), f32_data(&grad));
    let xd = dims4(&x);
    let wd = dims4(&weight);
    let g = conv_geometry(xd, wd, o);
    let (groups, c_out) = (o.groups, wd[0]);
    let (cin_g, cout_g) = (g.c / groups, c_out / groups);
    let k = cin_g * g.taps();
    let grad_cm = to_channel_major(slice(&grad), g.n, c_out, g.pixels());
    let mut gx = vec![0f32; xd.iter().product()];
    let mut cols = buffer(k * g.columns());
    for grp in 0..groups {
        let w = &slice(&weight)[grp * cout_g * k..][..cout_g * k];
        let gg = &grad_cm[grp * cout_g * g.columns()..][..cout_g * g.columns()];
        gemm(k, g.columns(), cout_g, &mut cols, transposed(w, k), rows(gg, g.columns()));
        col2im(&cols, &g, grp * cin_g, cin_g, &mut gx);
    }
    tensor(gx, xd)
}

/// Gradient of conv2d with respect to its weight.
pub fn conv2d_weight_backward(x: FlexTensor, weight: FlexTensor, grad: FlexTensor, o: &ConvOptions<2>) -> FlexTensor {
    let (x, grad) = (f32_data(&x), f32_data(&grad));
    let wd = dims4(&weight);
    let g = conv_geometry(dims4(&x), wd, o);
    let (groups, c_out) = (o.groups, wd[0]);
    let (cin_g, cout_g) = (g.c / groups, c_out / groups);
    let k = cin_g * g.taps();
    let grad_cm = to_channel_major(slice(&grad), g.n, c_out, g.pixels());
    let mut gw = buffer(c_out * k);
    for grp in 0..groups {
        let cols = cols_of(&x, &g, grp * cin_g, cin_g, Reuse::Take);
        let gg = &grad_cm[grp * cout_g * g.columns()..][..cout_g * g.columns()];
        gemm(cout_g, k, g.columns(), &mut gw[grp * cout_g * k..], rows(gg, g.columns()), transposed(&cols, g.columns()));
    }
    tensor(gw, wd)
}

/// The convolution a transposed convolution is the transpose of: from its output
/// (`[n, c_out, oh, ow]`) to its input (`[n, c_in, h, w]`).
fn transpose_geometry(x: [usize; 4], w: [usize; 4], o: &ConvTransposeOptions<2>) -> Geometry {
    let [n, _, h, wd] = x;
    let [_, cout_g, kh, kw] = w;
    let big = |size: usize, k: usize, a: usize| (size - 1) * o.stride[a] + o.dilation[a] * (k - 1) + o.padding_out[a] + 1 - 2 * o.padding[a];
    Geometry {
        n,
        c: cout_g * o.groups,
        h: big(h, kh, 0),
        w: big(wd, kw, 1),
        kh,
        kw,
        stride: o.stride,
        padding: o.padding,
        dilation: o.dilation,
        oh: h,
        ow: wd,
    }
}

/// conv_transpose2d: x `[n, c_in, h, w]`, weight `[c_in, c_out / groups, kh, kw]` →
/// `[n, c_out, (h − 1)·s − 2p + d·(k − 1) + pad_out + 1, …]`.
pub fn conv_transpose2d(x: FlexTensor, weight: FlexTensor, bias: Option<FlexTensor>, o: &ConvTransposeOptions<2>) -> FlexTensor {
    let (x, weight) = (f32_data(&x), f32_data(&weight));
    let bias = bias.map(|b| f32_data(&b));
    let xd = dims4(&x);
    let wd = dims4(&weight);
    let g = transpose_geometry(xd, wd, o);
    let groups = o.groups;
    let (cin_g, cout_g) = (xd[1] / groups, wd[1]);
    let k = cout_g * g.taps();
    let x_cm = to_channel_major(slice(&x), g.n, xd[1], g.pixels());
    let mut out = vec![0f32; g.n * g.c * g.h * g.w];
    let mut cols = buffer(k * g.columns());
    for grp in 0..groups {
        let w = &slice(&weight)[grp * cin_g * k..][..cin_g * k];
        let xg = &x_cm[grp * cin_g * g.columns()..][..cin_g * g.columns()];
        gemm(k, g.columns(), cin_g, &mut cols, transposed(w, k), rows(xg, g.columns()));
        col2im(&cols, &g, grp * cout_g, cout_g, &mut out);
    }
    if let Some(b) = &bias {
        let (b, plane) = (slice(b), g.h * g.w);
        for_chunks(&mut out, plane, |i, d| {
            let v = b[i % g.c];
            d.iter_mut().for_each(|x| *x += v);
        });
    }
    tensor(out, [g.n, g.c, g.h, g.w])
}

/// Gradient of conv_transpose2d with respect to x.
pub fn conv_transpose2d_x_backward(weight: FlexTensor, grad: FlexTensor, o: &ConvTransposeOptions<2>) -> FlexTensor {
    let (weight, grad) = (f32_data(&weight), f32_data(&grad));
    let wd = dims4(&weight);
    let [n, _, gh, gw] = dims4(&grad);
    let (kh, kw) = (wd[2], wd[3]);
    let h = out_size(gh, kh, o.stride[0], o.padding[0], o.dilation[0]);
    let w_ = out_size(gw, kw, o.stride[1], o.padding[1], o.dilation[1]);
    let xd = [n, wd[0], h, w_];
    let mut g = transpose_geometry(xd, wd, o);
    (g.h, g.w) = (gh, gw);
    let groups = o.groups;
    let (cin_g, cout_g) = (wd[0] / groups, wd[1]);
    let k = cout_g * g.taps();
    let mut gx = buffer(wd[0] * g.columns());
    for grp in 0..groups {
        let cols = cols_of(&grad, &g, grp * cout_g, cout_g, Reuse::Keep);
        let w = &slice(&weight)[grp * cin_g * k..][..cin_g * k];
        gemm(cin_g, g.columns(), k, &mut gx[grp * cin_g * g.columns()..], rows(w, k), rows(&cols, g.columns()));
    }
    tensor(from_channel_major(&gx, n, wd[0], g.pixels(), None), xd)
}

/// Gradient of conv_transpose2d with respect to its weight.
pub fn conv_transpose2d_weight_backward(x: FlexTensor, weight: FlexTensor, grad: FlexTensor, o: &ConvTransposeOptions<2>) -> FlexTensor {
    let (x, grad) = (f32_data(&x), f32_data(&grad));
    let xd = dims4(&x);
    let wd = dims4(&weight);
    let [_, _, gh, gw] = dims4(&grad);
    let mut g = transpose_geometry(xd, wd, o);
    (g.h, g.w) = (gh, gw);
    let groups = o.groups;
    let (cin_g, cout_g) = (xd[1] / groups, wd[1]);
    let k = cout_g * g.taps();
    let x_cm = to_channel_major(slice(&x), g.n, xd[1], g.pixels());
    let mut gwt = buffer(wd.iter().product());
    for grp in 0..groups {
        let cols = cols_of(&grad, &g, grp * cout_g, cout_g, Reuse::Take);
        let xg = &x_cm[grp * cin_g * g.columns()..][..cin_g * g.columns()];
        gemm(cin_g, k, g.columns(), &mut gwt[grp * cin_g * k..], rows(xg, g.columns()), transposed(&cols, g.columns()));
    }
    tensor(gwt, wd)
}

/// Gradient of a (transposed) convolution's bias: the output gradient summed over images and
/// pixels, per channel.
pub fn bias_backward(grad: FlexTensor) -> FlexTensor {
    let grad = f32_data(&grad);
    let [n, c, h, w] = dims4(&grad);
    let gs = slice(&grad);
    let mut out = vec![0f32; c];
    for_chunks(&mut out, 1, |ci, o| {
        o[0] = (0..n).map(|i| gs[(i * c + ci) * h * w..][..h * w].iter().sum::<f32>()).sum();
    });
    FlexTensor::new(Bytes::from_elems(out), Layout::contiguous(Shape::from(vec![c])), DType::F32)
}
