//! Whether this CPU computes in bfloat16 natively ([`cpu_has_native_bf16`]), so that
//! mixed-precision training (bfloat16 weights and activations, float32 master weights: the
//! trainer's `--bf16`) runs faster there than float32.
//!
//! On x86-64 that is AVX512-BF16 (AMD Zen 4 and later; Intel Cooper Lake, Sapphire Rapids and
//! later), which libtorch's oneDNN kernels use for convolutions and matrix products. On the
//! 2-core development machine (an AMD EPYC with AVX512-BF16) GapNet trains 1.8 times as fast in
//! bfloat16 with channels-last as in float32, the SC-CNN 1.9, MIL-Net 2.4 and M-CNN 2.6 times
//! (`benches/cpu_bf16.sh`, BENCHMARKS.md). Without the instructions bfloat16 is emulated and slower, so the answer is
//! no on other architectures and on CPUs without them.

/// True where the CPU has native bfloat16 arithmetic (x86-64 with AVX512-BF16).
pub fn cpu_has_native_bf16() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512bf16")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The detection agrees with the kernel's own list of CPU flags.
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    #[test]
    fn agrees_with_proc_cpuinfo() {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").expect("read /proc/cpuinfo");
        let flags = cpuinfo
            .lines()
            .find(|l| l.starts_with("flags"))
            .expect("a flags line");
        let listed = flags.split_whitespace().any(|f| f == "avx512_bf16");
        assert_eq!(cpu_has_native_bf16(), listed, "{flags}");
    }
}
