//! Says when a model's tokenizer cannot read the prompt, and offers the model's preset
//! (`presets`). When a model switch leaves the prompt unreadable, the prompt becomes the
//! new model's preset (when every model compared reads it), with a note and an undo; a
//! prompt from a shared link is never replaced silently, only flagged.

use leptos::prelude::*;

use crate::presets::{self, Preset};
use crate::state::{Actions, Models};

/// A ready model that cannot read the prompt: (model id, its name, why).
type Unreadable = (String, String, String);

/// Which ready models cannot read `prompt` (tracks the slots).
fn unreadable(models: Models, prompt: &str) -> Vec<Unreadable> {
    models
        .active()
        .into_iter()
        .filter_map(|s| {
            s.version.track();
            let id = s.key.get()?;
            let backend = s.backend.get_value()?;
            let err = backend.tokenizer()?.encode(prompt).err()?;
            Some((id.clone(), models.model_name(&id), err.to_string()))
        })
        .collect()
}

/// Whether every ready model reads `text` (untracked).
fn all_read(models: Models, text: &str) -> bool {
    models.active_untracked().into_iter().all(|s| {
        s.backend
            .get_value()
            .and_then(|b| b.tokenizer().map(|t| t.encode(text).is_ok()))
            .unwrap_or(true)
    })
}

fn why(id: &str, err: &str) -> String {
    match presets::vocabulary_hint(id) {
        Some(h) => format!("{err}; {h}"),
        None => err.to_string(),
    }
}

/// The prompt check, under the prompt box.
#[component]
pub fn PromptCheck(actions: Actions) -> impl IntoView {
    let Actions {
        models, generation, ..
    } = actions;
    let prompt = generation.prompt;
    // (previous prompt, what was said, the preset set) after an automatic switch
    let switched = RwSignal::new(None::<(String, String, String)>);
    let ready_keys = Memo::new(move |_| {
        models
            .active()
            .iter()
            .filter(|s| s.ready())
            .filter_map(|s| s.key.get())
            .collect::<Vec<_>>()
    });
    let from_link = StoredValue::new(true);
    Effect::new(move |prev: Option<Vec<String>>| {
        let keys = ready_keys.get();
        if keys.is_empty() {
            return keys;
        }
        let text = prompt.get_untracked();
        // the first models ready with a prompt the user or the link chose: only flag it
        let first = prev.as_ref().is_none_or(|p| p.is_empty());
        let linked = first && from_link.get_value() && text != presets::DEFAULT;
        from_link.set_value(false);
        if linked || prev.as_ref() == Some(&keys) {
            return keys;
        }
        let bad = untrack(|| unreadable(models, &text));
        if let Some((id, name, err)) = bad.first() {
            if let Some(p) = presets::for_model(id).filter(|p| all_read(models, &p.text)) {
                let said = format!(
                    "{name} cannot read the previous prompt ({}). The prompt is now its preset: {}",
                    why(id, err),
                    p.note
                );
                prompt.set(p.text.clone());
                switched.set(Some((text, said, p.text)));
            }
        }
        keys
    });
    // any edit of the prompt ends the "switched" note
    Effect::new(move |_| {
        let now = prompt.get();
        if switched.with_untracked(|s| s.as_ref().is_some_and(|(_, _, p)| *p != now)) {
            switched.set(None);
        }
    });
    let offer = move |(id, name, err): Unreadable| {
        let preset: Option<Preset> = presets::for_model(&id);
        view! {
            <p class="warning" data-testid="prompt-unreadable" data-model=id.clone()>
                {format!("{name} cannot read this prompt: {}. ", why(&id, &err))}
                {preset.map(|p| view! {
                    <button class="preset" on:click=move |_| prompt.set(p.text.clone())>{format!("Use {name}'s preset prompt")}</button>
                })}
            </p>
        }
    };
    let first_preset = move || {
        let id = models.slots[0].key.get()?;
        let p = presets::for_model(&id)?;
        let name = models.model_name(&id);
        let is_current = prompt.with(|t| *t == p.text);
        let note = p.note.clone();
        Some(if is_current {
            view! { <p class="hint" id="prompt-preset-note">{p.note}</p> }.into_any()
        } else {
            view! {
                <button id="use-preset" class="preset" title=note
                    on:click=move |_| prompt.set(p.text.clone())>{format!("Preset prompt for {name}")}</button>
            }
            .into_any()
        })
    };
    view! {
        <div class="prompt-check" id="prompt-check" role="status">
            {move || switched.get().map(|(old, said, _)| view! {
                <p class="notice" data-testid="prompt-switched">{said}" "
                    <button on:click=move |_| { prompt.set(old.clone()); switched.set(None) }>"Undo"</button>
                </p>
            })}
            {move || prompt.with(|t| unreadable(models, t)).into_iter().map(offer).collect_view()}
            {first_preset}
        </div>
    }
}
