//! Making untrusted text safe to write to a terminal: the one function every frontend uses.
//!
//! Model answers, tool output, session titles and server-sent names are untrusted. Written raw,
//! they drive the user's terminal: `ESC ] 0 ;` sets the title, `ESC ] 52 ;` writes the
//! clipboard, `\r ESC [ 2K` erases a line so what the model saw is not what the user sees, and
//! the 8-bit C1 introducers (`U+009B` CSI, `U+009D` OSC, `U+0090` DCS, `U+0098` SOS, `U+009E`
//! PM, `U+009F` APC) do the same without an ESC. Every escape, control or device sequence a
//! terminal understands starts with a C0 control (ESC, or CR/BS/... acting alone) or a C1
//! control, so [`terminal_safe`] replaces **every** control character but `\n`, `\t` and a `\r`
//! right before `\n` with a visible stand-in; the rest of a would-be sequence is then plain,
//! printable text. Nothing is dropped: the user sees `␛]0;title␇` where a tool tried to set
//! the title, and a hidden-line trick shows as `␍␛[2K`.
//!
//! The mapping is per character and needs no state, so it is safe on a stream cut into
//! arbitrary chunks (a sequence split across two chunks is still neutralised: its ESC is in one
//! of them). Pure text in, text out: no I/O here, so the TUI (which depends on this crate only)
//! and the CLI share it. JSON output does not use it: JSON escapes C0 controls itself and must
//! stay byte-exact.

use std::borrow::Cow;

/// Whether `c` at this position must be replaced (`next` is the character after it).
fn unsafe_char(c: char, next: Option<char>) -> bool {
    match c {
        '\n' | '\t' => false,
        '\r' => next != Some('\n'),
        c => c.is_control(),
    }
}

/// Appends the visible stand-in for control character `c` to `out`.
///
/// C0 controls become their Unicode control pictures (`␛` for ESC, `␍` for CR, `␇` for BEL,
/// U+2400 + code in general), DEL becomes `␡`, and a C1 control (which has no picture) becomes
/// `<U+009B>`-style text. Each picture is one cell wide, so tables keep their columns.
fn push_visible(out: &mut String, c: char) {
    let code = u32::from(c);
    match code {
        0x00..=0x1f => out.push(char::from_u32(0x2400 + code).unwrap_or('\u{fffd}')),
        0x7f => out.push('\u{2421}'),
        _ => {
            use std::fmt::Write as _;
            let _ = write!(out, "<U+{code:04X}>");
        }
    }
}

/// `text` with every terminal control made visible and inert (see the module doc).
/// Borrows when there is nothing to replace, which is the common case.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    let mut chars = text.char_indices().peekable();
    let first_bad = loop {
        let Some((i, c)) = chars.next() else {
            return Cow::Borrowed(text);
        };
        if unsafe_char(c, chars.peek().map(|&(_, n)| n)) {
            break i;
        }
    };
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str(&text[..first_bad]);
    let mut rest = text[first_bad..].chars().peekable();
    while let Some(c) = rest.next() {
        if unsafe_char(c, rest.peek().copied()) {
            push_visible(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::terminal_safe;

    /// No byte a terminal would act on: no C0 but `\n`/`\t`/CRLF, no DEL, no C1.
    fn inert(s: &str) -> bool {
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            let ok = match c {
                '\n' | '\t' => true,
                '\r' => chars.peek() == Some(&'\n'),
                c => !c.is_control(),
            };
            if !ok {
                return false;
            }
        }
        true
    }

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        let s = "plain text\twith tabs\nand lines, ünïcödé, CRLF\r\n";
        assert!(matches!(terminal_safe(s), std::borrow::Cow::Borrowed(_)));
        assert_eq!(terminal_safe(s), s);
    }

    #[test]
    fn every_attack_is_made_visible_not_dropped() {
        let cases = [
            ("\x1b]0;pwned\x07", "␛]0;pwned␇"),
            ("\x1b]52;c;ZWNobyBoaQ==\x1b\\", "␛]52;c;ZWNobyBoaQ==␛\\"),
            ("safe\r\x1b[2Kfake", "safe␍␛[2Kfake"),
            ("\x1b[3A\x1b[10;1H", "␛[3A␛[10;1H"),
            ("\u{9b}2J\u{9d}0;t\u{9c}", "<U+009B>2J<U+009D>0;t<U+009C>"),
            ("\x1bP+q\x1b\\", "␛P+q␛\\"),
            (
                "\x1b_apc\x1b\\\x1b^pm\x1b\\\x1bXsos\x1b\\",
                "␛_apc␛\\␛^pm␛\\␛Xsos␛\\",
            ),
            ("bell\x07 bs\x08 del\x7f nul\0", "bell␇ bs␈ del␡ nul␀"),
            ("lone \x1b", "lone ␛"),
            ("cr at end\r", "cr at end␍"),
        ];
        for (input, want) in cases {
            let got = terminal_safe(input);
            assert_eq!(got, want, "for {input:?}");
            assert!(inert(&got), "{got:?}");
        }
    }

    #[test]
    fn every_control_character_is_neutralised() {
        let all: String = (0u32..0x110000)
            .filter_map(char::from_u32)
            .filter(|c| c.is_control())
            .collect();
        let got = terminal_safe(&all);
        assert!(inert(&got), "{got:?}");
        // Only \t and \n survive as themselves.
        assert_eq!(got.matches('\n').count(), 1);
        assert_eq!(got.matches('\t').count(), 1);
    }

    #[test]
    fn chunks_are_safe_on_their_own() {
        // An OSC split across chunks: each piece is inert by itself.
        for chunk in ["\x1b", "]0;title", "\x07"] {
            assert!(inert(&terminal_safe(chunk)));
        }
    }
}
