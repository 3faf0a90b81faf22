//! What the adapter offers beyond core WebGPU, and which of it the engine may use.
//!
//! Three optional features change how kernels may be written:
//! - `shader-f16` ([`Caps::shader_f16`]): `f16` arithmetic and `array<f16>` storage views
//!   (our packed 16-bit weights are exactly such arrays, two per word, element `2i` in the
//!   low half).
//! - subgroups ([`Caps::subgroups`]): `subgroupAdd` and friends, with the adapter's
//!   subgroup size range (lavapipe 8, NVIDIA 32).
//! - cooperative matrices ([`Caps::coop_f16`]; tensor cores): wgpu's experimental
//!   `coop_mat16x16` with f16 A and B and an f32 accumulator, where the adapter lists that
//!   configuration (Vulkan `VK_KHR_cooperative_matrix`; native only).
//!
//! Each feature is requested where the adapter has it; every kernel keeps its plain f32
//! path, and which path runs is chosen at run time from [`Caps`]. `HYBRID_GPU_FEATURES`
//! (native only) narrows the set so that paths can be compared on one machine: `none`
//! (core WebGPU only), or a comma list of the allowed ones from `f16`, `subgroups`,
//! `coop`; `all` (the default) takes what the adapter has. `HYBRID_REQUIRE_COOP=1` makes a
//! test that needs tensor cores fail instead of checking the fallback (the GPU-machine
//! scripts in docs/bench set it).

/// The optional features the device was opened with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Caps {
    /// `shader-f16`: f16 arithmetic and f16 storage in shaders.
    pub shader_f16: bool,
    /// Subgroup operations in compute shaders.
    pub subgroups: bool,
    /// Smallest and largest subgroup size the adapter may use (`(0, 0)` without subgroups).
    pub subgroup_size: (u32, u32),
    /// 16x16x16 cooperative matrices, f16 inputs, f32 accumulator, subgroup scope.
    pub coop_f16: bool,
}

/// Which optional features the user allows (the `HYBRID_GPU_FEATURES` switch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Allowed {
    pub f16: bool,
    pub subgroups: bool,
    pub coop: bool,
}

impl Allowed {
    pub const ALL: Allowed = Allowed {
        f16: true,
        subgroups: true,
        coop: true,
    };
    pub const NONE: Allowed = Allowed {
        f16: false,
        subgroups: false,
        coop: false,
    };

    /// Parse `all`, `none` or a comma list of `f16`, `subgroups`, `coop`.
    pub fn parse(s: &str) -> Result<Allowed, String> {
        let s = s.trim();
        match s {
            "" | "all" => return Ok(Allowed::ALL),
            "none" => return Ok(Allowed::NONE),
            _ => {}
        }
        let mut a = Allowed::NONE;
        for item in s.split(',').map(str::trim) {
            match item {
                "f16" => a.f16 = true,
                "subgroups" => a.subgroups = true,
                "coop" => a.coop = true,
                other => {
                    return Err(format!(
                        "HYBRID_GPU_FEATURES: unknown feature {other:?} (all, none, or a comma list of f16, subgroups, coop)"
                    ))
                }
            }
        }
        Ok(a)
    }

    /// From `HYBRID_GPU_FEATURES` (native); everything in the browser.
    pub fn from_env() -> Result<Allowed, String> {
        #[cfg(not(target_arch = "wasm32"))]
        if let Ok(v) = std::env::var("HYBRID_GPU_FEATURES") {
            return Allowed::parse(&v);
        }
        Ok(Allowed::ALL)
    }
}

/// Whether `HYBRID_REQUIRE_COOP=1` is set (native): tests that need tensor cores fail
/// loudly where the device lacks them instead of checking the fallback.
pub fn coop_required() -> bool {
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::env::var("HYBRID_REQUIRE_COOP").is_ok_and(|v| v == "1")
    }
    #[cfg(target_arch = "wasm32")]
    {
        false
    }
}

/// The features to request from `adapter` and the [`Caps`] they give, within `allowed`.
pub fn select(adapter: &wgpu::Adapter, allowed: Allowed) -> (wgpu::Features, Caps) {
    use wgpu::Features as F;
    let have = adapter.features();
    let mut want = have & F::TIMESTAMP_QUERY;
    let mut caps = Caps::default();
    if allowed.f16 && have.contains(F::SHADER_F16) {
        want |= F::SHADER_F16;
        caps.shader_f16 = true;
    }
    if allowed.subgroups && have.contains(F::SUBGROUP) {
        want |= F::SUBGROUP;
        caps.subgroups = true;
        let info = adapter.get_info();
        caps.subgroup_size = (info.subgroup_min_size, info.subgroup_max_size);
    }
    if allowed.coop
        && caps.shader_f16
        && have.contains(F::EXPERIMENTAL_COOPERATIVE_MATRIX)
        && adapter
            .cooperative_matrix_properties()
            .iter()
            .any(is_f16_16x16_f32)
    {
        want |= F::EXPERIMENTAL_COOPERATIVE_MATRIX;
        caps.coop_f16 = true;
    }
    (want, caps)
}

/// The one cooperative-matrix configuration the kernels use: 16x16x16, f16 A and B,
/// f32 C and result.
fn is_f16_16x16_f32(p: &wgpu::CooperativeMatrixProperties) -> bool {
    use wgpu::CooperativeScalarType as S;
    p.m_size == 16 && p.n_size == 16 && p.k_size == 16 && p.ab_type == S::F16 && p.cr_type == S::F32
}

impl Caps {
    /// One line for badges and bench headers: "f16, subgroups 32-32, coop f16 16x16".
    pub fn summary(&self) -> String {
        let mut v = Vec::new();
        if self.shader_f16 {
            v.push("f16".to_string());
        }
        if self.subgroups {
            v.push(format!(
                "subgroups {}-{}",
                self.subgroup_size.0, self.subgroup_size.1
            ));
        }
        if self.coop_f16 {
            v.push("coop f16 16x16".to_string());
        }
        if v.is_empty() {
            "core WebGPU only".into()
        } else {
            v.join(", ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_lists() {
        assert_eq!(Allowed::parse("all"), Ok(Allowed::ALL));
        assert_eq!(Allowed::parse(""), Ok(Allowed::ALL));
        assert_eq!(Allowed::parse("none"), Ok(Allowed::NONE));
        assert_eq!(
            Allowed::parse("f16, coop"),
            Ok(Allowed {
                f16: true,
                subgroups: false,
                coop: true
            })
        );
        assert!(Allowed::parse("tensor").unwrap_err().contains("tensor"));
    }
}
