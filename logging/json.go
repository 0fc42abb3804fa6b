package logging

import (
	"log/slog"
	"strconv"
	"time"
	"unicode/utf8"
)

// The Append functions build a JSON line as slog's JSON handler writes it,
// without a slog.Record, reflection or an allocation: AppendStart, then one
// AppendString or AppendInt per attribute, then AppendEnd. The package's
// tests hold them to slog's output byte for byte, escaping included.

// AppendStart appends the opening of a record: the time (without its
// monotonic reading, in RFC 3339 with nanoseconds), the level and the
// message.
func AppendStart(b []byte, t time.Time, level slog.Level, msg string) []byte {
	b = append(b, `{"time":"`...)
	b = t.Round(0).AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":`...)
	b = appendQuoted(b, level.String())
	b = append(b, `,"msg":`...)
	return appendQuoted(b, msg)
}

// AppendString appends the attribute key=value.
func AppendString(b []byte, key, value string) []byte {
	b = append(b, ',')
	b = appendQuoted(b, key)
	b = append(b, ':')
	return appendQuoted(b, value)
}

// AppendInt appends the attribute key=value.
func AppendInt(b []byte, key string, value int64) []byte {
	b = append(b, ',')
	b = appendQuoted(b, key)
	b = append(b, ':')
	return strconv.AppendInt(b, value, 10)
}

// AppendEnd closes the record and ends the line.
func AppendEnd(b []byte) []byte {
	return append(b, '}', '\n')
}

const hexDigits = "0123456789abcdef"

// appendQuoted appends s as a JSON string: '"' and '\\' escaped, control
// characters as \n, \r, \t or \u00XX, invalid UTF-8 as \ufffd, and U+2028
// and U+2029 escaped; everything else, '<', '>' and '&' included, as is.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\' {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, `\u202`...)
			b = append(b, hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
