//! Shell-style pattern matching on bytes (`*`, `?`, `[a-z]`, `[!x]`, `\x`), for
//! `glob_expand` and tar excludes. No allocation, linear backtracking on the last `*`.

/// Whether `name` matches `pat`. With `slash_is_special`, `*`, `?` and brackets never match a
/// `/` (glob(3) on path components); without it they do (GNU tar's `--exclude`).
pub fn fnmatch(pat: &[u8], name: &[u8], slash_is_special: bool) -> bool {
    let (mut p, mut n) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        let c = name[n];
        if p < pat.len() {
            match pat[p] {
                b'*' => {
                    star = Some((p, n));
                    p += 1;
                    continue;
                }
                b'?' if !(slash_is_special && c == b'/') => {
                    p += 1;
                    n += 1;
                    continue;
                }
                b'[' => {
                    if let Some((matched, len)) = bracket(&pat[p..], c) {
                        if matched && !(slash_is_special && c == b'/') {
                            p += len;
                            n += 1;
                            continue;
                        }
                    } else if c == b'[' {
                        // An unclosed bracket is an ordinary character.
                        p += 1;
                        n += 1;
                        continue;
                    }
                }
                b'\\' if p + 1 < pat.len() && pat[p + 1] == c => {
                    p += 2;
                    n += 1;
                    continue;
                }
                b'\\' if p + 1 < pat.len() => {}
                pc if pc == c && pc != b'*' && pc != b'?' => {
                    p += 1;
                    n += 1;
                    continue;
                }
                _ => {}
            }
        }
        // Mismatch: let the last star eat one more character.
        match star {
            Some((sp, sn)) if !(slash_is_special && name[sn] == b'/') => {
                star = Some((sp, sn + 1));
                p = sp + 1;
                n = sn + 1;
            }
            _ => return false,
        }
    }
    pat[p..].iter().all(|&b| b == b'*')
}

/// Matches one character against the bracket expression at the start of `pat`. Returns
/// whether it matched and the length of the expression, or None if it is not closed.
fn bracket(pat: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(pat.get(i), Some(b'!') | Some(b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < pat.len() {
        let b = pat[i];
        if b == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if i + 2 < pat.len() && pat[i + 1] == b'-' && pat[i + 2] != b']' {
            if (b..=pat[i + 2]).contains(&c) {
                matched = true;
            }
            i += 3;
        } else {
            if b == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
}

/// Whether a pattern has any glob metacharacter.
pub fn has_magic(pat: &[u8]) -> bool {
    pat.iter().any(|b| matches!(b, b'*' | b'?' | b'['))
}

#[cfg(test)]
mod tests {
    use super::fnmatch;

    #[test]
    fn patterns() {
        assert!(fnmatch(b"*.conf", b"a.conf", true));
        assert!(!fnmatch(b"*.conf", b"a.confx", true));
        assert!(fnmatch(b"a?c", b"abc", true));
        assert!(fnmatch(b"[a-c]x", b"bx", true));
        assert!(!fnmatch(b"[!a-c]x", b"bx", true));
        assert!(fnmatch(b"*", b"", true));
        assert!(fnmatch(b"a*b*c", b"aXXbYYc", true));
        assert!(!fnmatch(b"a*", b"a/b", true));
        assert!(fnmatch(b"a*", b"a/b", false));
        assert!(fnmatch(b"\\*", b"*", true));
        assert!(!fnmatch(b"\\*", b"x", true));
        assert!(fnmatch(b"[", b"[", true));
        assert!(fnmatch(b"*/cache/*", b"var/cache/x/y", false));
    }
}
