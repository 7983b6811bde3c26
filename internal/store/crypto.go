package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// sealer encrypts tokens with AES-256-GCM. The first key seals; every key opens, so keys
// rotate like SESSION_SECRET's. The additional data names the row and the column, so a
// ciphertext copied to another row or column does not open.
type sealer struct {
	aeads []cipher.AEAD
}

// sealedPrefix versions the stored format: "v1:" + base64(nonce || ciphertext+tag).
const sealedPrefix = "v1:"

// ErrDecrypt is returned for a connection whose tokens no key opens: the key that sealed
// them is no longer in Options.Keys, or the row was tampered with. The user must connect
// again.
var ErrDecrypt = errors.New("a token does not decrypt with any key (a retired key, or a ciphertext moved between rows)")

func newSealer(keys [][]byte) (*sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("store: Options.Keys needs at least one 32-byte key to encrypt tokens")
	}
	s := &sealer{}
	for i, k := range keys {
		if len(k) != 32 {
			return nil, fmt.Errorf("store: key %d is %d bytes, want 32 (AES-256)", i, len(k))
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		s.aeads = append(s.aeads, aead)
	}
	return s, nil
}

// seal encrypts plaintext for column col of connection id, with a random nonce.
func (s *sealer) seal(id, col, plaintext string) string {
	a := s.aeads[0]
	nonce := make([]byte, a.NonceSize(), a.NonceSize()+len(plaintext)+a.Overhead())
	rand.Read(nonce) // never fails (crypto/rand)
	out := a.Seal(nonce, nonce, []byte(plaintext), additional(id, col))
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(out)
}

// open decrypts what seal made for the same id and column.
func (s *sealer) open(id, col, sealed string) (string, error) {
	b64, ok := strings.CutPrefix(sealed, sealedPrefix)
	if !ok {
		return "", ErrDecrypt
	}
	raw, err := base64.RawStdEncoding.DecodeString(b64)
	if err != nil {
		return "", ErrDecrypt
	}
	ad := additional(id, col)
	for _, a := range s.aeads {
		if len(raw) < a.NonceSize()+a.Overhead() {
			return "", ErrDecrypt
		}
		pt, err := a.Open(nil, raw[:a.NonceSize()], raw[a.NonceSize():], ad)
		if err == nil {
			return string(pt), nil
		}
	}
	return "", ErrDecrypt
}

func additional(id, col string) []byte {
	return []byte("smartcargo connection\x00" + id + "\x00" + col)
}
