package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// RFC 4231 test case 2 pins the key/message order and the hex encoding
// independently of this package.
func TestHashChallengeRFC4231(t *testing.T) {
	const want = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
	if got := HashChallenge("Jefe", "what do ya want for nothing?"); got != want {
		t.Errorf("HashChallenge = %s, want %s", got, want)
	}
	if got := Sign("Jefe", []byte("what do ya want for nothing?")); got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	const key = "amt-current"
	body := readFixture(t, "vehicle_state.json")
	sig := Sign(key, body)

	// Smartcar's text with its own spacing, and the same JSON re-encoded the way
	// the Node SDK does before hashing (JSON.stringify of the parsed body).
	var parsed any
	if err := json.Unmarshal(body, &parsed); err != nil {
		t.Fatal(err)
	}
	compact, err := json.Marshal(parsed)
	if err != nil {
		t.Fatal(err)
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, compact, "", "\t"); err != nil {
		t.Fatal(err)
	}
	changed := bytes.Clone(body)
	at := bytes.Index(changed, []byte(`"value": 81`))
	if at < 0 {
		t.Fatal("fixture changed: no state of charge 81")
	}
	changed[at+len(`"value": `)] = '9' // the state of charge 81 → 91

	for _, tc := range []struct {
		name      string
		key, sig  string
		body      []byte
		want      error
		wantSpecs error
	}{
		{"as sent", key, sig, body, nil, nil},
		{"upper-case hex", key, strings.ToUpper(sig), body, nil, nil},
		{"surrounding spaces", key, " " + sig + " ", body, nil, nil},
		{"missing", key, "", body, ErrInvalidSignature, ErrMissingSignature},
		{"not hex", key, strings.Repeat("zz", 32), body, ErrInvalidSignature, ErrMalformedSignature},
		{"truncated", key, sig[:62], body, ErrInvalidSignature, ErrMalformedSignature},
		{"too long", key, sig + "00", body, ErrInvalidSignature, ErrMalformedSignature},
		{"sha256= prefix", key, "sha256=" + sig, body, ErrInvalidSignature, ErrMalformedSignature},
		{"wrong key", "amt-other", sig, body, ErrInvalidSignature, ErrSignatureMismatch},
		{"one byte changed", key, sig, changed, ErrInvalidSignature, ErrSignatureMismatch},
		{"re-serialised compact", key, sig, compact, ErrInvalidSignature, ErrSignatureMismatch},
		{"re-indented", key, sig, indented.Bytes(), ErrInvalidSignature, ErrSignatureMismatch},
		{"empty key", "", Sign("", body), body, ErrNoManagementToken, ErrNoManagementToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(tc.key, tc.sig, tc.body)
			if !errors.Is(err, tc.want) || !errors.Is(err, tc.wantSpecs) {
				t.Errorf("Verify = %v, want %v (%v)", err, tc.want, tc.wantSpecs)
			}
		})
	}
}

func TestVerifyAny(t *testing.T) {
	body := []byte(`{"eventId":"e"}`)
	keys := []string{"new", "old"}
	for i, k := range keys {
		got, err := VerifyAny(keys, Sign(k, body), body)
		if err != nil || got != i {
			t.Errorf("signed with %q: VerifyAny = %d, %v; want %d", k, got, err, i)
		}
	}
	if _, err := VerifyAny(keys, Sign("older", body), body); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("unknown key: %v", err)
	}
	if _, err := VerifyAny(nil, Sign("x", body), body); !errors.Is(err, ErrNoManagementToken) {
		t.Errorf("no keys: %v", err)
	}
	if _, err := VerifyAny([]string{"new", ""}, Sign("new", body), body); !errors.Is(err, ErrNoManagementToken) {
		t.Errorf("an empty key among others: %v", err)
	}
}
