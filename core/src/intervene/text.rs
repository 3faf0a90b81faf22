//! The short syntax of interventions, one per item, items separated by `;` or spaces:
//!
//! | text | intervention |
//! |---|---|
//! | `L1.attn=0`, `L1.ssm*0.5` | scale (or zero) one branch of intra block 1 |
//! | `L1.attn_norm=off`, `L1.ssm_norm=off`, `L1.branch_norm=off` | drop branch norm(s) |
//! | `L3.mixer=skip`, `L3.ffn=skip` | skip block 3's mixer or FFN |
//! | `L2.window=64` | a sliding window of 64 tokens on block 2's attention |
//! | `L0.hide=3..7` | hide key positions 3, 4, 5, 6 from block 0's attention |
//! | `L2.ssm_reset@40`, `L2.ssm_reset[0,3]@40` | zero S (of heads 0 and 3) before token 40 |
//! | `L2.ssm_freeze@40`, `L2.ssm_freeze[1]@40` | hold S (of head 1) from token 40 on |
//! | `L2.dt*0.5`, `L2.dt[1]<=0.1` | scale dt, or clamp it from above, (of head 1) |

use super::{bad, Branch, DtOp, Intervention, Interventions, Part};
use crate::error::Result;
use std::fmt;

/// Parse a whole set.
pub(super) fn parse_set(s: &str) -> Result<Interventions> {
    let items = s.split(|c: char| c == ';' || c.is_whitespace());
    let list = items
        .filter(|t| !t.is_empty())
        .map(parse_one)
        .collect::<Result<Vec<_>>>()?;
    Ok(Interventions(list))
}

/// Parse one item, e.g. `L1.attn=0`.
fn parse_one(item: &str) -> Result<Intervention> {
    let err = |what: &str| bad(format!("`{item}`: {what}"));
    let Some(rest) = item.strip_prefix('L') else {
        return Err(err("expected `L<layer>.<what>`, e.g. `L1.attn=0`"));
    };
    let Some((num, rest)) = rest.split_once('.') else {
        return Err(err("expected a `.` after the layer, e.g. `L1.attn=0`"));
    };
    let layer: usize = num
        .parse()
        .map_err(|_| err(&format!("the layer `{num}` is not a number")))?;
    // target (letters and _), optional [heads], then the operator and its value
    let end = rest
        .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
        .unwrap_or(rest.len());
    let (target, rest) = rest.split_at(end);
    let (heads, rest) = match rest.strip_prefix('[') {
        Some(r) => match r.split_once(']') {
            Some((h, r)) => (Some(parse_heads(h).map_err(|e| err(&e))?), r),
            None => return Err(err("a `[` without its `]`")),
        },
        None => (None, rest),
    };
    let op_end = rest
        .find(|c: char| !matches!(c, '=' | '*' | '<' | '@'))
        .unwrap_or(rest.len());
    let (op, value) = rest.split_at(op_end);
    let num_f = |v: &str| -> Result<f32> {
        v.parse::<f32>()
            .map_err(|_| err(&format!("`{v}` is not a number")))
    };
    let num_u = |v: &str| -> Result<usize> {
        v.parse::<usize>()
            .map_err(|_| err(&format!("`{v}` is not a whole number >= 0")))
    };
    if heads.is_some() && !matches!(target, "dt" | "ssm_reset" | "ssm_freeze") {
        return Err(err("only `dt`, `ssm_reset` and `ssm_freeze` take [heads]"));
    }
    let iv = match (target, op) {
        ("attn" | "ssm", "=" | "*") => Intervention::BranchScale {
            layer,
            branch: branch(target),
            scale: num_f(value)?,
        },
        ("attn_norm" | "ssm_norm" | "branch_norm", "=") if value == "off" => {
            Intervention::BranchNormOff {
                layer,
                branch: (target != "branch_norm").then(|| branch(target)),
            }
        }
        ("mixer" | "ffn", "=") if value == "skip" => Intervention::Skip {
            layer,
            part: if target == "ffn" {
                Part::Ffn
            } else {
                Part::Mixer
            },
        },
        ("window", "=") => Intervention::Window {
            layer,
            window: num_u(value)?,
        },
        ("hide", "=") => {
            let Some((a, b)) = value.split_once("..") else {
                return Err(err(&format!("`{value}`: expected a range `from..to`")));
            };
            Intervention::Hide {
                layer,
                from: num_u(a)?,
                to: num_u(b)?,
            }
        }
        ("ssm_reset", "@") => Intervention::SsmReset {
            layer,
            at: num_u(value)?,
            heads,
        },
        ("ssm_freeze", "@") => Intervention::SsmFreeze {
            layer,
            from: num_u(value)?,
            heads,
        },
        ("dt", "*" | "<=") => Intervention::Dt {
            layer,
            heads,
            op: if op == "*" {
                DtOp::Scale(num_f(value)?)
            } else {
                DtOp::Max(num_f(value)?)
            },
        },
        _ => {
            return Err(err(&format!(
                "`{target}{op}{value}` is not an intervention; known: attn=, ssm=, attn*, ssm*, \
                 attn_norm=off, ssm_norm=off, branch_norm=off, mixer=skip, ffn=skip, window=N, \
                 hide=A..B, ssm_reset@T, ssm_freeze@T, dt*K, dt<=M (dt, ssm_reset, ssm_freeze take \
                 [heads])"
            )))
        }
    };
    Ok(iv)
}

/// `attn` or `attn_norm` -> Attn, else Ssm.
fn branch(target: &str) -> Branch {
    if target.starts_with("attn") {
        Branch::Attn
    } else {
        Branch::Ssm
    }
}

/// `0,3` -> [0, 3].
fn parse_heads(s: &str) -> std::result::Result<Vec<usize>, String> {
    s.split(',')
        .map(|h| {
            h.trim()
                .parse::<usize>()
                .map_err(|_| format!("the head `{h}` is not a whole number >= 0"))
        })
        .collect()
}

/// `[0,3]`, or nothing for all heads.
fn heads_text(heads: &Option<Vec<usize>>) -> String {
    match heads {
        None => String::new(),
        Some(h) => {
            let list: Vec<String> = h.iter().map(|x| x.to_string()).collect();
            format!("[{}]", list.join(","))
        }
    }
}

impl fmt::Display for Intervention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = |b: &Branch| match b {
            Branch::Attn => "attn",
            Branch::Ssm => "ssm",
        };
        match self {
            Intervention::BranchScale {
                layer,
                branch,
                scale,
            } => write!(f, "L{layer}.{}*{scale}", name(branch)),
            Intervention::BranchNormOff { layer, branch } => match branch {
                Some(b) => write!(f, "L{layer}.{}_norm=off", name(b)),
                None => write!(f, "L{layer}.branch_norm=off"),
            },
            Intervention::Skip { layer, part } => match part {
                Part::Mixer => write!(f, "L{layer}.mixer=skip"),
                Part::Ffn => write!(f, "L{layer}.ffn=skip"),
            },
            Intervention::Window { layer, window } => write!(f, "L{layer}.window={window}"),
            Intervention::Hide { layer, from, to } => write!(f, "L{layer}.hide={from}..{to}"),
            Intervention::SsmReset { layer, at, heads } => {
                write!(f, "L{layer}.ssm_reset{}@{at}", heads_text(heads))
            }
            Intervention::SsmFreeze { layer, from, heads } => {
                write!(f, "L{layer}.ssm_freeze{}@{from}", heads_text(heads))
            }
            Intervention::Dt { layer, heads, op } => match op {
                DtOp::Scale(k) => write!(f, "L{layer}.dt{}*{k}", heads_text(heads)),
                DtOp::Max(m) => write!(f, "L{layer}.dt{}<={m}", heads_text(heads)),
            },
        }
    }
}

impl fmt::Display for Interventions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items: Vec<String> = self.0.iter().map(|i| i.to_string()).collect();
        f.write_str(&items.join(";"))
    }
}
