//! Subnormal floats flushed to zero on the threads that train on the CPU.
//!
//! A diverging run (the study's DCGAN with SGD at lr 0.05) saturates its sigmoids, and the
//! gradients behind them fall below f32's smallest normal number (1.2e-38). Intel CPUs handle
//! each such subnormal operand with a microcode assist, up to ~100× slower than a normal one: one
//! step of that run took 4.0 s against about 0.5 s for its neighbours (one thread), and a
//! time-budgeted study gave it 5 steps in 4 s where its rivals got 11–15. With the MXCSR's
//! flush-to-zero (FTZ, results) and denormals-are-zero (DAZ, operands) bits set, those values are
//! zeros and every step costs the same; PyTorch offers the same switch as
//! `torch.set_flush_denormal(True)`. Values of 1e-38 change no loss or weight that training can
//! see. A no-op on other CPUs (aarch64 flushes with FPCR.FZ, not set here).

/// Sets FTZ and DAZ on the calling thread and on every thread of the current rayon pool (the
/// global one that flex and gemm use, or the pool whose `install` this runs in). Each thread keeps
/// them for its life, so once before training suffices; calling again costs one broadcast.
pub fn flush_denormals() {
    set_this_thread();
    rayon::broadcast(|_| set_this_thread());
}

/// Whether the calling thread flushes subnormal results and operands to zero.
pub fn flushing() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        csr() & FTZ_DAZ == FTZ_DAZ
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

#[cfg(target_arch = "x86_64")]
const FTZ_DAZ: u32 = (1 << 15) | (1 << 6);

#[cfg(target_arch = "x86_64")]
fn csr() -> u32 {
    let mut csr = 0u32;
    // SAFETY: stmxcsr stores the 32-bit MXCSR register to the given, valid location.
    unsafe { std::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack)) };
    csr
}

fn set_this_thread() {
    #[cfg(target_arch = "x86_64")]
    {
        let csr = csr() | FTZ_DAZ;
        // SAFETY: ldmxcsr loads MXCSR from a valid location; only the FTZ and DAZ mode bits change,
        // which alter subnormal results and operands only (SSE2 is part of x86_64).
        unsafe { std::arch::asm!("ldmxcsr [{}]", in(reg) &csr, options(nostack, readonly)) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn a_subnormal_product_is_zero_after_and_only_after_flushing() {
        // On a fresh thread, so the test thread (and others run in it) keeps its modes.
        std::thread::spawn(|| {
            let tiny = std::hint::black_box(1e-30f32);
            let scale = std::hint::black_box(1e-10f32);
            assert!(!flushing());
            let before = tiny * scale;
            assert!(before > 0.0 && before < f32::MIN_POSITIVE, "{before:e} is subnormal");
            set_this_thread();
            assert!(flushing());
            assert_eq!(std::hint::black_box(tiny) * std::hint::black_box(scale), 0.0);
            // A subnormal operand reads as zero too (DAZ).
            assert_eq!(std::hint::black_box(before) * std::hint::black_box(2.0f32), 0.0);
            // Normal numbers are untouched.
            assert_eq!(std::hint::black_box(1.5f32) * std::hint::black_box(2.0f32), 3.0);
        })
        .join()
        .unwrap();
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn every_thread_of_the_pool_flushes_after_the_call() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        assert_eq!(pool.broadcast(|_| flushing()), [false; 3], "a new pool starts with IEEE subnormals");
        pool.install(flush_denormals);
        assert_eq!(pool.broadcast(|_| flushing()), [true; 3]);
    }
}
