package sandbox

import (
	"crypto/subtle"
	"errors"
	"net/http"
)

// tokenResponse is the token endpoint's success body (§3.2).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

// oauthBody is the token endpoint's error body (§3.4).
type oauthBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// handleToken is POST /oauth/token (also /oauth/token/ and /): the authorization_code
// and refresh_token grants, with the client authenticated by HTTP Basic or by form
// fields (Ruby's oauth2 gem).
func (s *server) handleToken(w http.ResponseWriter, r *http.Request) {
	resp, err := s.token(w, r)
	s.writeToken(w, r, resp, err)
}

// writeToken answers a token request (this one's or /oauth2/token's) with its
// response or its OAuth error.
func (s *server) writeToken(w http.ResponseWriter, r *http.Request, resp any, err error) {
	h := w.Header()
	h["cache-control"] = []string{"no-store"}
	h["pragma"] = []string{"no-cache"}
	if err != nil {
		var oe *oauthError
		if !errors.As(err, &oe) {
			s.log.Error("token: internal error", "request_id", requestID(r.Context()), "err", err)
			oe = &oauthError{Status: http.StatusInternalServerError, Code: "server_error", Description: "The sandbox failed to issue a token."}
		}
		s.log.Info("token: refused", "error", oe.Code, "status", oe.Status, "request_id", requestID(r.Context()))
		if oe.Status == http.StatusUnauthorized {
			h["www-authenticate"] = []string{`Basic realm="smartcar"`}
		}
		writeJSON(w, r, s.log, oe.Status, oauthBody{Error: oe.Code, ErrorDescription: oe.Description})
		return
	}
	writeJSON(w, r, s.log, http.StatusOK, resp)
}

// tokenClient reads a token request's form and authenticates its client (HTTP Basic
// or form fields): the first steps of both token endpoints, /oauth/token and
// /oauth2/token.
func (s *server) tokenClient(w http.ResponseWriter, r *http.Request) (Client, error) {
	if err := readForm(w, r, maxTokenBody); err != nil {
		if tooLarge(err) {
			return Client{}, &oauthError{http.StatusRequestEntityTooLarge, "invalid_request", "The request body must not exceed 64 KB."}
		}
		return Client{}, &oauthError{http.StatusBadRequest, "invalid_request", "The request body must be application/x-www-form-urlencoded."}
	}
	client, err := s.authenticateClient(r)
	if err != nil {
		return Client{}, err
	}
	note(r.Context()).clientID = client.ID
	return client, nil
}

// token does the work of handleToken and returns either a response or an error.
func (s *server) token(w http.ResponseWriter, r *http.Request) (*tokenResponse, error) {
	client, err := s.tokenClient(w, r)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var g *grant
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "authorization_code":
		code := r.PostForm.Get("code")
		redirect := r.PostForm.Get("redirect_uri")
		if redirect == "" || redirect == "undefined" { // Node sends "undefined" when unset
			redirect = client.RedirectURIs[0]
		}
		cg, refusal := s.store.exchangeCode(code, client.ID, redirect, now)
		switch refusal {
		case codeInvalid:
			return nil, &oauthError{http.StatusBadRequest, "invalid_request", "Invalid code: " + code + "."}
		case codeRedirectMismatch:
			return nil, &oauthError{http.StatusBadRequest, "invalid_grant", "Unauthorized redirect_uri: " + redirect}
		}
		g = cg
	case "refresh_token":
		rt := r.PostForm.Get("refresh_token")
		if rt == "" {
			return nil, &oauthError{http.StatusBadRequest, "invalid_request", "Missing refresh_token."}
		}
		rg, known, ok := s.store.useRefresh(rt, client.ID, now)
		switch {
		case !known:
			return nil, &oauthError{http.StatusBadRequest, "invalid_grant", "Invalid refresh_token: " + rt + "."}
		case !ok:
			return nil, &oauthError{http.StatusBadRequest, "invalid_grant", "Invalid or expired refresh token."}
		}
		g = rg
	case "":
		return nil, &oauthError{http.StatusBadRequest, "invalid_request", "Missing grant_type."}
	default:
		return nil, &oauthError{http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant_type: " + gt + "."}
	}
	p := s.store.issueTokens(g, now)
	return &tokenResponse{
		AccessToken:  p.Access,
		TokenType:    "Bearer",
		ExpiresIn:    int(s.store.accessTTL.Seconds()),
		RefreshToken: p.Refresh,
	}, nil
}

// authenticateClient checks the client credentials from the Basic header or, when
// there is none, from the client_id and client_secret form fields.
func (s *server) authenticateClient(r *http.Request) (Client, error) {
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	c, known := s.clients[id]
	// Compare in constant time even for an unknown id, so timing tells nothing.
	want := c.Secret
	if !known {
		want = "\x00unknown-client"
	}
	if id == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(want)) != 1 || !known {
		return Client{}, &oauthError{http.StatusUnauthorized, "invalid_client", "Invalid client credentials."}
	}
	return c, nil
}

// RevokeTokens is control.Backend's: it forgets every access and refresh token of the
// approvals that reach the vehicle (the user withdrew the app's access), and returns
// how many. (It lives here, beside the token endpoint it affects.)
func (b backend) RevokeTokens(vehicleID string) (int, error) {
	cv, err := b.find(vehicleID)
	if err != nil {
		return 0, err
	}
	return b.s.store.revokeTokens(cv.v.ID), nil
}
