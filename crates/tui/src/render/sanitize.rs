//! Cleaning text that came from a process before it reaches the screen.

/// Removes CSI (`ESC [ ... final`) and OSC (`ESC ] ... BEL/ST`) sequences and other escapes.
pub fn strip_escapes(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('\x1b') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('[') => {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            Some(']') => {
                while let Some(c) = chars.next() {
                    if c == '\x07' || (c == '\x1b' && chars.peek() == Some(&'\\')) {
                        if c == '\x1b' {
                            chars.next();
                        }
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::strip_escapes;

    #[test]
    fn strips_csi_and_osc() {
        assert_eq!(strip_escapes("plain"), "plain");
        assert_eq!(strip_escapes("\x1b[1;31mred\x1b[0m"), "red");
        assert_eq!(strip_escapes("a\x1b]52;c;AAAA\x07b"), "ab");
        assert_eq!(strip_escapes("a\x1b]0;t\x1b\\b"), "ab");
    }
}
