//! The short syntax and JSON of interventions: round trips, and errors that name the bad
//! part (of the text, or of the model it does not fit).

use hybrid_core::intervene::{Branch, DtOp, Intervention, Part};
use hybrid_core::{Interventions, ModelConfig};

#[test]
fn short_syntax_parses_and_prints_back() {
    let text = "L1.attn*0;L1.ssm*0.5;L1.branch_norm=off;L1.ssm_norm=off;L3.mixer=skip;\
                L3.ffn=skip;L2.window=64;L0.hide=3..7;L2.ssm_reset@40;L2.ssm_reset[0,3]@40;\
                L2.ssm_freeze@9;L2.ssm_freeze[1]@12;L2.dt*0.5;L2.dt[1]<=0.1;L2.dt<=inf";
    let set = Interventions::parse(text).expect("parses");
    assert_eq!(set.0.len(), 15);
    assert_eq!(set.to_string(), text);
    assert_eq!(
        set.0[0],
        Intervention::BranchScale {
            layer: 1,
            branch: Branch::Attn,
            scale: 0.0
        }
    );
    assert_eq!(
        set.0[5],
        Intervention::Skip {
            layer: 3,
            part: Part::Ffn
        }
    );
    assert_eq!(
        set.0[13],
        Intervention::Dt {
            layer: 2,
            heads: Some(vec![1]),
            op: DtOp::Max(0.1)
        }
    );
    // `=` is accepted for a branch factor, spaces separate items too
    let alt = Interventions::parse(" L1.attn=0  L2.window=64 ").expect("parses");
    assert_eq!(alt.to_string(), "L1.attn*0;L2.window=64");
    // JSON, as an array and as one object
    let json = serde_json::to_string(&set).expect("json");
    assert_eq!(Interventions::parse(&json).expect("json parses"), set);
    let one = r#"{"kind":"ssm_reset","layer":2,"at":40,"heads":[0,3]}"#;
    assert_eq!(
        Interventions::parse(one).expect("one object").to_string(),
        "L2.ssm_reset[0,3]@40"
    );
}

fn err(text: &str) -> String {
    match Interventions::parse(text) {
        Ok(v) => panic!("`{text}` parsed as {v:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_text_is_an_error_naming_the_part() {
    for (text, part) in [
        ("1.attn=0", "expected `L<layer>.<what>`"),
        ("Lx.attn=0", "the layer `x` is not a number"),
        ("L1attn=0", "expected a `.`"),
        ("L1.atn=0", "`atn=0` is not an intervention"),
        ("L1.attn=half", "`half` is not a number"),
        ("L1.window=-3", "`-3` is not a whole number"),
        ("L1.hide=3-7", "`3-7`: expected a range"),
        ("L1.dt[0,a]*2", "the head `a`"),
        ("L1.dt[0*2", "a `[` without its `]`"),
        (
            "L1.attn[0]*2",
            "only `dt`, `ssm_reset` and `ssm_freeze` take [heads]",
        ),
        ("L1.mixer=off", "`mixer=off` is not an intervention"),
        (r#"[{"kind":"skip","layer":1}]"#, "JSON"),
        (
            r#"{"kind":"window","layer":1,"window":4,"extra":1}"#,
            "JSON",
        ),
    ] {
        let e = err(text);
        assert!(e.contains(part), "`{text}`: `{e}` should contain `{part}`");
        assert!(e.starts_with("intervention: "), "{e}");
    }
}

fn recall_intra() -> ModelConfig {
    let p = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../assets/models/recall-intra/config.json"
    );
    ModelConfig::from_json(&std::fs::read(p).expect("config")).expect("valid config")
}

#[test]
fn interventions_that_do_not_fit_the_model_name_the_layer() {
    let cfg = recall_intra(); // mamba, intra (2 SSM heads), mamba, mamba
    for (text, part) in [
        (
            "L9.attn=0",
            "layer 9 does not exist (the model has 4 layers",
        ),
        ("L0.attn=0", "layer 0 (Mamba) has no intra branches"),
        (
            "L2.branch_norm=off",
            "layer 2 (Mamba) has no intra branches",
        ),
        ("L0.window=8", "layer 0 (Mamba) has no attention"),
        ("L3.hide=1..2", "layer 3 (Mamba) has no attention"),
        ("L1.hide=7..3", "the range 7..3 is empty"),
        ("L1.window=0", "the window must be >= 1"),
        ("L1.dt[2]*0.5", "layer 1 has 2 SSM heads, no head 2"),
        ("L1.ssm_reset[5]@3", "no head 5"),
        ("L1.ssm_freeze[0,9]@3", "no head 9"),
        ("L1.ssm_freeze[2]@0", "layer 1 has 2 SSM heads, no head 2"),
        ("L1.dt*-1", "a dt scale must be finite and >= 0"),
        ("L1.dt<=0", "a dt max > 0"),
        ("L1.attn*inf", "the scale must be a finite number"),
    ] {
        let set = Interventions::parse(text).expect("parses");
        let e = set.plan(&cfg).map(|_| ()).expect_err(text).to_string();
        assert!(e.contains(part), "`{text}`: `{e}` should contain `{part}`");
        assert!(
            e.contains(&set.to_string()),
            "`{text}`: the error names it: {e}"
        );
    }
    assert!(Interventions::parse("L1.attn=0 L1.ssm_norm=off L0.dt*2")
        .expect("ok")
        .plan(&cfg)
        .is_ok());
}
