//! Entry point of the page: mounts the app, nothing else.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(hybrid_app::App);
}
