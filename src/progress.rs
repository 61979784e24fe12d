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
