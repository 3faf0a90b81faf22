//! The Rust side of each shader's `Params` uniform (binding 0): `params!` defines the
//! `#[repr(C)]` Pod struct AND its member list ([`ParamsLayout::FIELDS`]: name, byte
//! offset from `core::mem::offset_of!`, WGSL type), so that `gpu/tests/contract.rs` can
//! check it member by member against the shader's struct as naga lays it out.
//!
//! Mirroring rules: a WGSL `u32` / `i32` / `f32` member is a Rust `u32` / `i32` / `f32`;
//! a `vecN<f32>` is `[f32; N]`; members named `_pad*` are padding on both sides (the
//! uniform's size must still agree); a nested `params!` struct stands for its members
//! inlined at its offset (the scan layout shared by the Mamba-2 shaders).

/// A scalar of a uniform member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    U32,
    I32,
    F32,
}

/// The WGSL type a Rust member stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// `u32`, `i32` or `f32`.
    Scalar(Scalar),
    /// `[T; N]`: `vecN<T>` (N in 2..=4), or N padding words.
    Array(Scalar, usize),
    /// A nested `params!` struct, inlined.
    Struct(&'static [Field]),
}

impl Ty {
    /// Bytes.
    pub fn size(self) -> usize {
        match self {
            Ty::Scalar(_) => 4,
            Ty::Array(_, n) => 4 * n,
            Ty::Struct(fields) => fields
                .iter()
                .map(|f| f.offset + f.ty.size())
                .max()
                .unwrap_or(0),
        }
    }
}

/// One member of a Rust `Params` mirror.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    /// Bytes from the start of the struct.
    pub offset: usize,
    pub ty: Ty,
}

/// A `Params` mirror with its member list (made by `params!`).
pub trait ParamsLayout: bytemuck::Pod {
    /// The members in declaration order.
    const FIELDS: &'static [Field];

    /// The members with nested structs inlined (their members at offset + own offset).
    fn flat() -> Vec<Field> {
        flatten(Self::FIELDS, 0)
    }
}

/// `fields` with nested structs inlined, offsets shifted by `base`.
pub fn flatten(fields: &[Field], base: usize) -> Vec<Field> {
    let mut out = Vec::new();
    for f in fields {
        match f.ty {
            Ty::Struct(inner) => out.extend(flatten(inner, base + f.offset)),
            _ => out.push(Field {
                offset: base + f.offset,
                ..*f
            }),
        }
    }
    out
}

/// A Rust type that may be a member of a `Params` mirror.
pub trait Member {
    const TY: Ty;
}

impl Member for u32 {
    const TY: Ty = Ty::Scalar(Scalar::U32);
}
impl Member for i32 {
    const TY: Ty = Ty::Scalar(Scalar::I32);
}
impl Member for f32 {
    const TY: Ty = Ty::Scalar(Scalar::F32);
}
impl<const N: usize> Member for [u32; N] {
    const TY: Ty = Ty::Array(Scalar::U32, N);
}
impl<const N: usize> Member for [i32; N] {
    const TY: Ty = Ty::Array(Scalar::I32, N);
}
impl<const N: usize> Member for [f32; N] {
    const TY: Ty = Ty::Array(Scalar::F32, N);
}

/// Defines a `Params` mirror: the `#[repr(C)]` Pod struct, its [`ParamsLayout`] (member
/// list with `offset_of!`) and [`Member`] (so it can nest in another mirror).
///
/// ```ignore
/// crate::params::params! {
///     /// Mirrors `Params` of add.wgsl.
///     pub struct AddParams {
///         pub len: u32,
///         pub alpha: f32,
///         pub _pad: [u32; 2],
///     }
/// }
/// ```
macro_rules! params {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($(#[$fmeta:meta])* pub $field:ident: $ty:ty),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[repr(C)]
        #[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
        }

        impl $crate::params::ParamsLayout for $name {
            const FIELDS: &'static [$crate::params::Field] = &[$(
                $crate::params::Field {
                    name: stringify!($field),
                    offset: core::mem::offset_of!($name, $field),
                    ty: <$ty as $crate::params::Member>::TY,
                },
            )*];
        }

        impl $crate::params::Member for $name {
            const TY: $crate::params::Ty = $crate::params::Ty::Struct(
                <$name as $crate::params::ParamsLayout>::FIELDS,
            );
        }
    };
}
pub(crate) use params;
