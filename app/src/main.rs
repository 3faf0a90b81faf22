//! Entry point of the page: mounts the app, nothing else.

fn main() {
    console_error_panic_hook::set_once();
    // `#bench=...`: the in-page benchmark instead of the app (app/src/bench.rs)
    if hybrid_app::bench::start_if_asked() {
        return;
    }
    leptos::mount::mount_to_body(hybrid_app::App);
}
