//! The kernel table: every shader of `shaders/` in ONE row, from which the [`Kernel`] enum
//! and all its lookups ([`Kernel::ALL`], [`Kernel::name`], [`Kernel::source`],
//! [`Kernel::bindings`], [`Kernel::zeroes_workgroup_memory`]) are generated.
//!
//! A row reads
//! `Matmul => "matmul", inputs 2, outputs 1, zero_wg_memory false, params ...MatmulParams;`:
//! the variant, the file `shaders/<file>.wgsl`, the read-only storage inputs and read-write
//! outputs after the `Params` uniform at binding 0, whether workgroup memory must start
//! zeroed, the Rust mirror of the shader's `Params` (a `params!` struct in the op's file),
//! and optionally `consts [NAME = rust_value]`: WGSL `const`s the shader must keep equal to
//! a Rust constant (where an `override` set from Rust is not used). `gpu/tests/contract.rs` checks the `params` and `consts` columns against each
//! shader through naga, and the bindings against each shader's declarations.
//!
//! **Adding a kernel** touches only: its shader `shaders/<file>.wgsl`, its op file in
//! `gpu/src/ops/` (the `params!` struct and the constructor; a new file also gets its
//! `pub mod` line in `ops/mod.rs`) and one row of `kernel_table!`. (A shader that copies a
//! helper of another one, e.g. `softplus`, is also named in that helper's `SHARED` entry
//! of `gpu/tests/contract.rs`; the test says so when it finds the copy.)
//!
//! This module is pure data: it imports nothing of the crate. The `params` and `consts`
//! columns name items of `ops`, which imports this module; they are expanded only by
//! [`crate::contract`] (the table is an "X-macro": `kernel_table!` hands its rows to the
//! macro it is given), never here, so no module imports one that imports it back.

/// Hands the kernel rows to the macro `$then` (one row per shader; see the module doc).
macro_rules! kernel_table {
    ($then:ident) => {
        $then! {
            Matmul => "matmul", inputs 2, outputs 1, zero_wg_memory false,
                params $crate::ops::matmul::MatmulParams;
            MatmulCoop => "matmul_coop", inputs 2, outputs 1, zero_wg_memory false,
                params $crate::ops::matmul::MatmulParams,
                consts [
                    BM = $crate::ops::matmul::COOP_TILE_T,
                    BN = $crate::ops::matmul::COOP_TILE_N
                ];
            MatmulF16 => "matmul_f16", inputs 2, outputs 1, zero_wg_memory false,
                params $crate::ops::matmul::MatmulParams,
                consts [
                    BM = $crate::ops::matmul::F16_TILE_T,
                    BN = $crate::ops::matmul::F16_TILE_N
                ];
            Matvec => "matvec", inputs 5, outputs 3, zero_wg_memory false,
                params $crate::ops::matvec::MatvecParams,
                consts [
                    MAX_K = $crate::ops::matvec::MAX_K,
                    ROWS = $crate::ops::matvec::ROWS
                ];
            MatvecSg => "matvec_sg", inputs 7, outputs 6, zero_wg_memory false,
                params $crate::ops::matvec::MatvecParams,
                consts [
                    MAX_K = $crate::ops::matvec::MAX_K,
                    ROWS = $crate::ops::matvec::ROWS
                ];
            RmsNorm => "rmsnorm", inputs 2, outputs 1, zero_wg_memory true,
                params $crate::ops::rmsnorm::RmsNormParams;
            Rope => "rope", inputs 1, outputs 1, zero_wg_memory true,
                params $crate::ops::rope::RopeParams;
            Attention => "attention", inputs 4, outputs 1, zero_wg_memory true,
                params $crate::ops::attention::AttentionParams,
                consts [BQ = $crate::ops::attention::TILED_ROWS];
            AttentionTiled => "attention_tiled", inputs 4, outputs 1, zero_wg_memory false,
                params $crate::ops::attention::AttentionParams;
            AttentionCoop => "attention_coop", inputs 4, outputs 1, zero_wg_memory false,
                params $crate::ops::attention::AttentionParams,
                consts [MAX_OF = $crate::ops::attention_coop::MAX_OUT_BLOCKS];
            AttentionSplit => "attention_split", inputs 4, outputs 1, zero_wg_memory false,
                params $crate::ops::attention_split::AttentionSplitParams,
                consts [
                    KEYS_PER_SPLIT = $crate::ops::attention_split::KEYS_PER_SPLIT,
                    MAX_HEADS = $crate::ops::attention_split::MAX_HEADS_PER_WG,
                    MAX_Q = $crate::ops::attention_split::MAX_WG_QUERY
                ];
            AttentionSplitVec4 => "attention_split_vec4", inputs 4, outputs 1,
                zero_wg_memory false,
                params $crate::ops::attention_split::AttentionSplitParams;
            AttentionCombine => "attention_combine", inputs 1, outputs 1, zero_wg_memory false,
                params $crate::ops::attention_combine::AttentionCombineParams;
            KvStore => "kv_store", inputs 2, outputs 2, zero_wg_memory true,
                params $crate::ops::kv_store::KvStoreParams;
            Conv1d => "conv1d", inputs 3, outputs 2, zero_wg_memory true,
                params $crate::ops::conv1d::Conv1dParams;
            SsmScan => "ssm_scan", inputs 4, outputs 2, zero_wg_memory false,
                params $crate::ops::ssm_scan::ScanParams;
            SsdChunkState => "ssd_chunk_state", inputs 4, outputs 2, zero_wg_memory true,
                params $crate::ops::ssd::SsdParams,
                consts [
                    L = $crate::ops::ssd::SSD_CHUNK,
                    MAX_P = $crate::ops::ssd::SSD_MAX_HEAD_DIM
                ];
            SsdStatePass => "ssd_state_pass", inputs 1, outputs 2, zero_wg_memory true,
                params $crate::ops::ssd::SsdParams,
                consts [L = $crate::ops::ssd::SSD_CHUNK];
            SsdChunkOut => "ssd_chunk_out", inputs 5, outputs 1, zero_wg_memory true,
                params $crate::ops::ssd::SsdParams,
                consts [
                    L = $crate::ops::ssd::SSD_CHUNK,
                    MAX_P = $crate::ops::ssd::SSD_MAX_HEAD_DIM
                ];
            SwiGlu => "swiglu", inputs 1, outputs 1, zero_wg_memory true,
                params $crate::ops::swiglu::SwiGluParams;
            Relu2 => "relu2", inputs 1, outputs 1, zero_wg_memory true,
                params $crate::ops::relu2::Relu2Params;
            Add => "add", inputs 1, outputs 1, zero_wg_memory true,
                params $crate::ops::add::AddParams;
            Embed => "embed", inputs 2, outputs 1, zero_wg_memory true,
                params $crate::ops::embed::EmbedParams;
            Argmax => "argmax", inputs 1, outputs 1, zero_wg_memory true,
                params $crate::ops::argmax::ArgmaxParams;
            AttentionProbs => "attention_probs", inputs 1, outputs 1, zero_wg_memory true,
                params $crate::ops::attention_probs::AttentionProbsParams;
            SsmProbes => "ssm_probes", inputs 4, outputs 2, zero_wg_memory true,
                params $crate::ops::ssm_probes::SsmProbeParams;
            SsmStateNorm => "ssm_state_norm", inputs 4, outputs 2, zero_wg_memory true,
                params $crate::ops::ssm_probes::SsmProbeParams;
            RowNorm => "row_norm", inputs 1, outputs 1, zero_wg_memory true,
                params $crate::ops::row_norm::RowNormParams;
            TopK => "topk", inputs 1, outputs 1, zero_wg_memory false,
                params $crate::ops::topk::TopKParams,
                consts [WG = $crate::ops::topk::MAX_K];
        }
    };
}
pub(crate) use kernel_table;

/// Generates [`Kernel`] and its lookups from the rows (ignores `params` and `consts`).
macro_rules! kernel_enum {
    ($(
        $kernel:ident => $file:literal, inputs $inputs:literal, outputs $outputs:literal,
            zero_wg_memory $zero:literal, params $params:path
            $(, consts [$($name:ident = $value:expr),*])?;
    )*) => {
        /// One WGSL file of `shaders/`: binding 0 is its `Params` uniform, then `inputs`
        /// read-only storage buffers, then `outputs` read-write storage buffers.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Kernel {
            $($kernel,)*
        }

        impl Kernel {
            /// Every kernel (for tests).
            pub const ALL: [Kernel; [$($file),*].len()] = [$(Kernel::$kernel),*];

            /// File name in `shaders/` (without `.wgsl`).
            pub fn name(self) -> &'static str {
                match self {
                    $(Kernel::$kernel => $file,)*
                }
            }

            /// The WGSL source.
            pub fn source(self) -> &'static str {
                match self {
                    $(Kernel::$kernel => include_str!(concat!("../../shaders/", $file, ".wgsl")),)*
                }
            }

            /// Whether workgroup memory must start zeroed. Kernels that write every element
            /// they read skip the zeroing (it costs each workgroup a pass over its memory).
            pub fn zeroes_workgroup_memory(self) -> bool {
                match self {
                    $(Kernel::$kernel => $zero,)*
                }
            }

            /// (read-only inputs, read-write outputs) after the params uniform.
            pub fn bindings(self) -> (usize, usize) {
                match self {
                    $(Kernel::$kernel => ($inputs, $outputs),)*
                }
            }
        }
    };
}

kernel_table!(kernel_enum);
