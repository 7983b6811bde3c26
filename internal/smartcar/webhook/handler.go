package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strings"
)

// DefaultMaxBody is the largest body a Handler reads unless Options.MaxBody says
// otherwise. A 4.0 event with every signal is a few tens of kilobytes.
const DefaultMaxBody = 1 << 20

// Options configure a Handler.
type Options struct {
	// ManagementTokens are the application management tokens whose signatures
	// are accepted: the current one first, then any being retired while a new
	// one is rolled out. At least one; none may be empty.
	ManagementTokens []string
	// OnEvent receives every verified event except VERIFY, which the Handler
	// answers itself. It runs before the answer is sent: return nil once the
	// event is safe (stored or queued), an error to have Smartcar deliver it
	// again. It should be quick; hand long work to a queue. Required.
	OnEvent func(ctx context.Context, ev *Event) error
	// Dedupe, when set, hands each eventId to OnEvent once (until OnEvent
	// succeeds; a failed one may be retried). Events without an id are always
	// handed on. Nil hands every delivery on.
	Dedupe Deduper
	// MaxBody bounds the body in bytes; DefaultMaxBody when <= 0.
	MaxBody int64
	// Logger receives one line per refused or failed delivery (Info for the
	// sender's mistakes, Error for ours) and per handled event. Nil discards.
	Logger *slog.Logger
}

// Handler receives Smartcar webhooks. See NewHandler.
type Handler struct {
	tokens  []string
	onEvent func(context.Context, *Event) error
	dedupe  Deduper
	maxBody int64
	log     *slog.Logger
}

// NewHandler returns an http.Handler for the webhook's callback URI. For each
// request it, in this order:
//
//   - answers 405 (with Allow: POST) to any method but POST;
//   - answers 413 to a body over MaxBody, without acting on any of it;
//   - checks SC-Signature against the raw body and every management token, and
//     answers 401 to a missing, malformed or wrong signature: nothing of the
//     body is parsed, and OnEvent is not called;
//   - answers 415 to a media type other than JSON, 400 to a body that is not a
//     JSON object;
//   - answers VERIFY (4.0 or legacy) with 200 {"challenge": HashChallenge(token,
//     challenge)}, using the token that signed the request;
//   - with a Deduper: answers 200 to an event handled before and 409 to one
//     being handled by another request at this moment, without calling OnEvent;
//   - calls OnEvent and answers 200 once it returned nil, 500 when it returned
//     an error or panicked, so that Smartcar delivers the event again.
//
// Every answer has a small JSON body; an error answer is {"error": code,
// "message": text} and never carries the callback's error text.
func NewHandler(opts Options) (*Handler, error) {
	if len(opts.ManagementTokens) == 0 {
		return nil, errors.New("webhook: Options.ManagementTokens is empty")
	}
	for _, t := range opts.ManagementTokens {
		if t == "" {
			return nil, ErrNoManagementToken
		}
	}
	if opts.OnEvent == nil {
		return nil, errors.New("webhook: Options.OnEvent is nil")
	}
	h := &Handler{
		tokens:  append([]string(nil), opts.ManagementTokens...),
		onEvent: opts.OnEvent,
		dedupe:  opts.Dedupe,
		maxBody: opts.MaxBody,
		log:     opts.Logger,
	}
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBody
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.refuse(ctx, w, http.StatusMethodNotAllowed, "method_not_allowed", "Webhooks are delivered with POST.", nil)
		return
	}
	tooLarge := fmt.Sprintf("The body must not exceed %d bytes.", h.maxBody)
	if r.ContentLength > h.maxBody {
		h.refuse(ctx, w, http.StatusRequestEntityTooLarge, "body_too_large", tooLarge, nil)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			h.refuse(ctx, w, http.StatusRequestEntityTooLarge, "body_too_large", tooLarge, nil)
		} else {
			h.refuse(ctx, w, http.StatusBadRequest, "unreadable_body", "The body could not be read.", err)
		}
		return
	}

	// The signature is checked on the bytes as received, before anything parses
	// them: a parsed and re-encoded body need not hash the same.
	sigs := r.Header.Values(SignatureHeader)
	sig := ""
	if len(sigs) > 0 {
		sig = sigs[0]
	}
	key, err := VerifyAny(h.tokens, sig, body)
	if err == nil && len(sigs) > 1 {
		err = ErrMalformedSignature
	}
	if err != nil {
		h.refuse(ctx, w, http.StatusUnauthorized, "invalid_signature", signatureMessage(err), err)
		return
	}
	if key > 0 {
		h.log.InfoContext(ctx, "webhook: signed with a retiring management token", "token_index", key)
	}

	if !isJSONMediaType(r.Header.Get("Content-Type")) {
		h.refuse(ctx, w, http.StatusUnsupportedMediaType, "unsupported_media_type", "The body must be JSON.", nil)
		return
	}
	ev, err := Decode(body)
	if err != nil {
		h.refuse(ctx, w, http.StatusBadRequest, "invalid_payload", "The body must be a JSON object.", nil)
		return
	}
	log := h.log.With("event_id", ev.ID, "event_type", string(ev.Type), "webhook_id", ev.Meta.WebhookID, "delivery_id", ev.Meta.DeliveryID)

	if ev.Type == TypeVerify {
		if ev.Data.Challenge == "" {
			h.refuse(ctx, w, http.StatusBadRequest, "missing_challenge", "A VERIFY event must carry a challenge.", nil)
			return
		}
		// Only a signed VERIFY is answered (above): an answer is an HMAC of a
		// string of the sender's choosing with the management token, which for an
		// unsigned request would sign any body an attacker wanted.
		writeJSON(w, http.StatusOK, map[string]string{"challenge": HashChallenge(h.tokens[key], ev.Data.Challenge)})
		log.InfoContext(ctx, "webhook: VERIFY answered")
		return
	}

	claimed := false
	if h.dedupe != nil && ev.ID != "" {
		c, err := h.dedupe.Claim(ctx, ev.ID)
		if err != nil {
			log.ErrorContext(ctx, "webhook: deduplication failed", "err", err)
			writeError(w, http.StatusInternalServerError, "dedupe_failed", "The event could not be checked against those already received; deliver it again.")
			return
		}
		switch c {
		case ClaimDone:
			log.InfoContext(ctx, "webhook: duplicate event")
			writeJSON(w, http.StatusOK, map[string]string{"status": "duplicate"})
			return
		case ClaimBusy:
			// Not 2xx: if the delivery being handled fails, this one must be
			// delivered again.
			log.InfoContext(ctx, "webhook: event already being handled")
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusConflict, "in_progress", "The event is being handled by another delivery; deliver it again later.")
			return
		}
		claimed = true
	}

	if err := h.call(ctx, ev); err != nil {
		if claimed {
			// The answer is still to be sent when the sender gives up, so the
			// claim is freed whatever became of the request's context.
			if rerr := h.dedupe.Release(context.WithoutCancel(ctx), ev.ID); rerr != nil {
				log.ErrorContext(ctx, "webhook: releasing the event failed", "err", rerr)
			}
		}
		log.ErrorContext(ctx, "webhook: event not handled", "err", err)
		writeError(w, http.StatusInternalServerError, "event_not_handled", "The event could not be handled; deliver it again.")
		return
	}
	if claimed {
		// The event is handled: answer 200 even if it cannot be recorded, rather
		// than have it delivered and handled again for certain.
		if err := h.dedupe.Done(context.WithoutCancel(ctx), ev.ID); err != nil {
			log.ErrorContext(ctx, "webhook: recording the event failed", "err", err)
		}
	}
	log.InfoContext(ctx, "webhook: event handled")
	writeJSON(w, http.StatusOK, map[string]string{"status": "received"})
}

// call runs OnEvent, turning a panic into an error (net/http would otherwise
// drop the connection without an answer).
func (h *Handler) call(ctx context.Context, ev *Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			err = fmt.Errorf("webhook: OnEvent panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return h.onEvent(ctx, ev)
}

// refuse answers a delivery the sender got wrong (or, with status >= 500, that
// we could not take) and logs it; cause goes to the log only.
func (h *Handler) refuse(ctx context.Context, w http.ResponseWriter, status int, code, msg string, cause error) {
	attrs := []any{"status", status, "error", code}
	if cause != nil {
		attrs = append(attrs, "err", cause)
	}
	h.log.InfoContext(ctx, "webhook: delivery refused", attrs...)
	writeError(w, status, code, msg)
}

func signatureMessage(err error) string {
	switch {
	case errors.Is(err, ErrMissingSignature):
		return "The " + SignatureHeader + " header is missing."
	case errors.Is(err, ErrMalformedSignature):
		return "The " + SignatureHeader + " header is not one hex HMAC-SHA256."
	default:
		return "The " + SignatureHeader + " header does not match the body."
	}
}

// isJSONMediaType accepts application/json, any +json type, and no type at all
// (the body is parsed anyway, and refused if it is not JSON).
func isJSONMediaType(ct string) bool {
	if strings.TrimSpace(ct) == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"error": code, "message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only maps of strings reach here; keep an answer anyway.
		b = []byte(`{"error":"internal"}`)
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
