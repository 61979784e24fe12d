//! Spinners for long stages on standard error (drawn only on a terminal).

use std::time::Duration;

use indicatif::ProgressBar;

/// A spinner showing `message` while a long stage runs, ticking on its own;
/// hidden when `show` is false. Clear it with `finish_and_clear`.
pub fn spinner(show: bool, message: impl Into<String>) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner().with_message(message.into());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// A bar counting `len` pieces of work named `what`, with the time left;
/// hidden when `show` is false.
pub fn bar(show: bool, len: u64, what: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(&format!(
        "{what} [{{bar:30}}] {{pos}}/{{len}} proofs ({{eta}} left)"
    )) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
