//! The sizes of one mixer, derived from the config: [`AttnDims`] and [`MambaDims`].

/// Sizes of one attention mixer (a block, or an intra branch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttnDims {
    /// Hq.
    pub n_heads: usize,
    /// Hkv.
    pub n_kv_heads: usize,
    /// dh: query/key head size.
    pub head_dim: usize,
    /// dv: value head size.
    pub v_head_dim: usize,
}

impl AttnDims {
    /// Hq * dh: rows of `q_proj`.
    pub fn q_dim(&self) -> usize {
        self.n_heads * self.head_dim
    }
    /// Hkv * dh: rows of `k_proj`, width of a cached key row.
    pub fn k_dim(&self) -> usize {
        self.n_kv_heads * self.head_dim
    }
    /// Hkv * dv: rows of `v_proj`, width of a cached value row.
    pub fn v_dim(&self) -> usize {
        self.n_kv_heads * self.v_head_dim
    }
    /// Hq * dv: the heads concatenated, columns of `o_proj`.
    pub fn o_dim(&self) -> usize {
        self.n_heads * self.v_head_dim
    }
    /// Hkv * (dh + dv): floats one token adds to this mixer's KV cache.
    pub fn kv_row(&self) -> usize {
        self.k_dim() + self.v_dim()
    }
}

/// Sizes of one Mamba-2 mixer (a block, or an intra branch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MambaDims {
    /// H: heads.
    pub n_heads: usize,
    /// P: channels per head.
    pub head_dim: usize,
    /// N: state size.
    pub d_state: usize,
    /// G: B/C groups.
    pub n_groups: usize,
    /// W: conv width.
    pub conv_width: usize,
    /// Groups of the gated RMSNorm (a Mamba block's `norm`): each spans E / norm_groups.
    pub norm_groups: usize,
}

impl MambaDims {
    /// E = H * P.
    pub fn d_inner(&self) -> usize {
        self.n_heads * self.head_dim
    }
    /// Channels through the conv: E + 2 G N.
    pub fn conv_dim(&self) -> usize {
        self.d_inner() + 2 * self.n_groups * self.d_state
    }
    /// Rows of `in_proj`: 2E + 2GN + H.
    pub fn in_proj_dim(&self) -> usize {
        2 * self.d_inner() + 2 * self.n_groups * self.d_state + self.n_heads
    }
    /// Floats of SSM state: H * P * N.
    pub fn ssm_state_len(&self) -> usize {
        self.n_heads * self.head_dim * self.d_state
    }
    /// Floats of conv state: (W - 1) * conv_dim.
    pub fn conv_state_len(&self) -> usize {
        self.conv_width.saturating_sub(1) * self.conv_dim()
    }
}
