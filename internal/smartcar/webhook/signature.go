package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
)

// SignatureHeader is the request header in which Smartcar sends the hex HMAC-SHA256
// of the raw body, keyed with the application management token.
const SignatureHeader = "SC-Signature"

// Reasons Verify refuses a signature. Each wraps ErrInvalidSignature, so a caller
// that only needs "refuse it" tests that one.
var (
	ErrInvalidSignature   = errors.New("webhook: invalid signature")
	ErrMissingSignature   = signatureError("missing " + SignatureHeader + " header")
	ErrMalformedSignature = signatureError(SignatureHeader + " is not a hex HMAC-SHA256")
	ErrSignatureMismatch  = signatureError(SignatureHeader + " does not match the body")
	// ErrNoManagementToken reports an empty key: HMAC accepts one, but a receiver
	// keyed with "" would accept whatever anyone signs with "".
	ErrNoManagementToken = errors.New("webhook: empty management token")
)

type sigError struct{ msg string }

func signatureError(msg string) error { return &sigError{"webhook: " + msg} }

func (e *sigError) Error() string        { return e.msg }
func (e *sigError) Is(target error) bool { return target == ErrInvalidSignature }

// HashChallenge answers a VERIFY event: the hex HMAC-SHA256 of challenge keyed
// with the application management token, which the receiver returns as
// {"challenge": "<hash>"}. It is what the official SDKs call hashChallenge.
func HashChallenge(managementToken, challenge string) string {
	return hex.EncodeToString(mac(managementToken, []byte(challenge)))
}

// Sign returns the SC-Signature value Smartcar sends with body: the lower-case hex
// HMAC-SHA256 of the exact bytes, keyed with the management token. Senders (the
// sandbox, tests) use it; receivers use Verify.
func Sign(managementToken string, body []byte) string {
	return hex.EncodeToString(mac(managementToken, body))
}

// Verify reports whether signature (the SC-Signature header) is the HMAC-SHA256
// of body, the raw request body exactly as received, keyed with managementToken.
// Hex digits may be upper or lower case. It returns nil, or an error wrapping
// ErrInvalidSignature (ErrMissingSignature, ErrMalformedSignature,
// ErrSignatureMismatch), or ErrNoManagementToken.
//
// The body must not be parsed and re-encoded first: a different but equivalent
// JSON text (spacing, key order, escapes) has a different signature. The
// comparison takes the same time wherever the two signatures differ.
func Verify(managementToken, signature string, body []byte) error {
	_, err := VerifyAny([]string{managementToken}, signature, body)
	return err
}

// VerifyAny is Verify for a receiver that accepts several management tokens, as
// while one is being rotated: it returns the index of the token that signed the
// body. Every token is tried, so the time taken does not say which one matched.
func VerifyAny(managementTokens []string, signature string, body []byte) (int, error) {
	if len(managementTokens) == 0 {
		return -1, ErrNoManagementToken
	}
	for _, t := range managementTokens {
		if t == "" {
			return -1, ErrNoManagementToken
		}
	}
	// net/http trims a header value's spaces and tabs already; a caller passing
	// one read elsewhere gets the same.
	signature = strings.Trim(signature, " \t")
	if signature == "" {
		return -1, ErrMissingSignature
	}
	// hex.DecodeString takes either case; the length check refuses a truncated
	// (or padded) signature before anything is compared.
	got, err := hex.DecodeString(signature)
	if err != nil || len(got) != sha256.Size {
		return -1, ErrMalformedSignature
	}
	matched := -1
	for i, t := range managementTokens {
		if hmac.Equal(got, mac(t, body)) && matched < 0 {
			matched = i
		}
	}
	if matched < 0 {
		return -1, ErrSignatureMismatch
	}
	return matched, nil
}

func mac(key string, msg []byte) []byte {
	h := hmac.New(sha256.New, []byte(key))
	h.Write(msg)
	return h.Sum(nil)
}
