package sandbox

import (
	"errors"
	"net/http"

	"smartcargo/internal/sandbox/compat"
)

// The Compatibility API (internal/sandbox/compat) on the v2 routes, authenticated with
// a registered client's id and secret (Basic).

// newCompatTable is the compatibility table with the sandbox's permissions and the
// endpoints its routes give each one, so the API says what the routes do.
func newCompatTable() *compat.Table {
	var cat compat.Catalog
	for _, p := range permissions {
		cat.Permissions = append(cat.Permissions, compat.Permission{Name: p.Name, Label: p.Label})
	}
	// GET /vehicles/{id} (attributes) is routed in routes() and checks its permission itself.
	cat.Endpoints = append(cat.Endpoints, compat.Endpoint{Path: "/", Permission: "read_vehicle_info"})
	for _, vr := range vehicleRoutesTable() {
		if vr.Permission != "" {
			cat.Endpoints = append(cat.Endpoints, compat.Endpoint{Path: vr.Path, Permission: vr.Permission, Feature: vr.Feature})
		}
	}
	return compat.New(cat)
}

// compatClient authenticates the client of a Compatibility API call: wrong or missing
// credentials are 401 AUTHENTICATION, before any parameter is looked at.
func (s *server) compatClient(r *http.Request) error {
	if _, _, ok := r.BasicAuth(); !ok {
		return errAuthentication()
	}
	c, err := s.authenticateClient(r)
	if err != nil {
		return errAuthentication()
	}
	note(r.Context()).clientID = c.ID
	return nil
}

// compatError turns the table's refusal of a parameter into 400 VALIDATION/PARAMETER.
func compatError(err error) error {
	var inv *compat.Invalid
	if errors.As(err, &inv) {
		return errValidation(inv.Field, inv.Message)
	}
	return err
}

// handleCompatibility is GET /v2.0/compatibility?vin&scope&country[&mode&test_mode_compatibility_level].
func (s *server) handleCompatibility(t *compat.Table) apiHandler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := s.compatClient(r); err != nil {
			return err
		}
		q := r.URL.Query()
		res, err := t.CheckVIN(compat.VINQuery{VIN: q.Get("vin"), Scope: q.Get("scope"), Country: q.Get("country"),
			Mode: q.Get("mode"), Level: q.Get("test_mode_compatibility_level")})
		if err != nil {
			return compatError(err)
		}
		writeJSON(w, r, s.log, http.StatusOK, res)
		return nil
	}
}

// handleCompatibilityMatrix is GET /v2.0/compatibility/matrix?region[&scope&make&type&mode].
func (s *server) handleCompatibilityMatrix(t *compat.Table) apiHandler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := s.compatClient(r); err != nil {
			return err
		}
		q := r.URL.Query()
		res, err := t.Matrix(compat.MatrixQuery{Region: q.Get("region"), Scope: q.Get("scope"), Make: q.Get("make"),
			Type: q.Get("type"), Mode: q.Get("mode")})
		if err != nil {
			return compatError(err)
		}
		writeJSON(w, r, s.log, http.StatusOK, res)
		return nil
	}
}
