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

// sealer encrypts tokens, and the vehicles' signal values, with AES-256-GCM. The first
// key seals; every key opens, so keys rotate like SESSION_SECRET's. The additional data
// names the table, the row and the column, so a ciphertext copied to another row, column
// or table does not open.
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
	return s.sealIn(tableConnection, id, col, plaintext)
}

// open decrypts what seal made for the same id and column.
func (s *sealer) open(id, col, sealed string) (string, error) {
	return s.openIn(tableConnection, id, col, sealed)
}

// Tables whose rows hold sealed columns, part of the additional data.
const (
	tableConnection    = "connection"
	tableWebhookEvent  = "webhook_event"
	tableVehicleSignal = "vehicle_signal"
)

// sealIn encrypts plaintext for column col of row id of table, with a random nonce.
func (s *sealer) sealIn(table, id, col, plaintext string) string {
	a := s.aeads[0]
	nonce := make([]byte, a.NonceSize(), a.NonceSize()+len(plaintext)+a.Overhead())
	rand.Read(nonce) // never fails (crypto/rand)
	out := a.Seal(nonce, nonce, []byte(plaintext), additional(table, id, col))
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(out)
}

// openIn decrypts what sealIn made for the same table, row and column.
func (s *sealer) openIn(table, id, col, sealed string) (string, error) {
	b64, ok := strings.CutPrefix(sealed, sealedPrefix)
	if !ok {
		return "", ErrDecrypt
	}
	raw, err := base64.RawStdEncoding.DecodeString(b64)
	if err != nil {
		return "", ErrDecrypt
	}
	ad := additional(table, id, col)
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

// additional is the additional data of a ciphertext. A connection's is
// "smartcargo connection\x00<id>\x00<column>", as it was before other tables had
// sealed columns. Ids never contain NUL (validID), so the parts cannot run together.
func additional(table, id, col string) []byte {
	return []byte("smartcargo " + table + "\x00" + id + "\x00" + col)
}
