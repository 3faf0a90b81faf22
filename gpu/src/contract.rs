//! What each shader and its Rust side must agree on, read from the `params` and `consts`
//! columns of the kernel table ([`crate::kernel`]): the Rust mirror of each shader's
//! `Params` uniform and the WGSL `const`s that copy a Rust constant.
//! `gpu/tests/contract.rs` checks both against the shaders through naga.
//!
//! This module sits above [`crate::kernel`] and [`crate::ops`] (it imports both; nothing
//! imports it), which is why the table's type columns are expanded here.

use crate::kernel::{kernel_table, Kernel};
use crate::params::{Field, ParamsLayout};

/// The Rust mirror of a kernel's `Params` uniform.
#[derive(Debug, Clone, Copy)]
pub struct ParamsMirror {
    /// The Rust type, as written in the table.
    pub rust: &'static str,
    /// `size_of` the type.
    pub size: usize,
    /// Its members (nested structs not yet inlined; see [`crate::params::flatten`]).
    pub fields: &'static [Field],
}

/// Generates the lookups of the `params` and `consts` columns.
macro_rules! kernel_contract {
    ($(
        $kernel:ident => $file:literal, inputs $inputs:literal, outputs $outputs:literal,
            zero_wg_memory $zero:literal, params $params:path
            $(, consts [$($name:ident = $value:expr),*])?;
    )*) => {
        impl Kernel {
            /// The Rust mirror of this kernel's `Params` uniform (binding 0).
            pub fn params_mirror(self) -> ParamsMirror {
                match self {
                    $(Kernel::$kernel => ParamsMirror {
                        rust: stringify!($params),
                        size: core::mem::size_of::<$params>(),
                        fields: <$params as ParamsLayout>::FIELDS,
                    },)*
                }
            }

            /// WGSL `const`s of this kernel's shader that must equal a Rust constant:
            /// (name in the shader, the Rust value).
            pub fn shared_consts(self) -> &'static [(&'static str, u64)] {
                match self {
                    $(Kernel::$kernel => &[$($((stringify!($name), $value as u64)),*)?],)*
                }
            }
        }
    };
}

kernel_table!(kernel_contract);
