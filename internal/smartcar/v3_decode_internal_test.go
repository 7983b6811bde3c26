package smartcar

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestDecodeV3Errors decodes the v3 error shapes: the flat fields beside the JSON:API
// array (what the sandbox answers), the JSON:API array alone, a signal's own error,
// and bodies with fields of the wrong kind, which lose only themselves.
func TestDecodeV3Errors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   Error
	}{
		{
			name: "flat and JSON:API", status: 409,
			body: `{"type":"VEHICLE_STATE","code":"IN_MOTION","title":"In Motion","description":"The vehicle is moving.",
				"docURL":"https://smartcar.com/docs/errors/api-errors/v3/vehicle-state-errors#in_motion","statusCode":409,
				"requestId":"r-1","resolution":{"type":"RETRY_LATER"},"suggestedUserMessage":null,
				"errors":[{"status":"409","type":"VEHICLE_STATE","code":"IN_MOTION","title":"In Motion","detail":"The vehicle is moving.",
				"links":{"about":"https://example.com/about"},"resolution":{"type":"RETRY_LATER"},"suggestedUserMessage":"Park first."}]}`,
			want: Error{StatusCode: 409, Type: "VEHICLE_STATE", Code: "IN_MOTION", Title: "In Motion", Description: "The vehicle is moving.",
				DocURL: "https://smartcar.com/docs/errors/api-errors/v3/vehicle-state-errors#in_motion", RequestID: "r-1",
				SuggestedUserMessage: "Park first.", Resolution: "RETRY_LATER"},
		},
		{
			name: "JSON:API only, no HTTP status", status: 0,
			body: `{"errors":[{"status":"403","type":"PERMISSION","code":null,"title":"Permission","detail":"Insufficient permissions.",
				"links":{"about":"https://smartcar.com/docs/errors/api-errors/v3/permission-errors#null"},"resolution":{"type":"REAUTHENTICATE"}},
				{"status":"500","type":"SERVER"}]}`,
			want: Error{StatusCode: 403, Type: "PERMISSION", Title: "Permission", Description: "Insufficient permissions.",
				DocURL: "https://smartcar.com/docs/errors/api-errors/v3/permission-errors#null", Resolution: "REAUTHENTICATE"},
		},
		{
			name: "a signal's own error (recorded live shape)", status: 0,
			body: `{"type":"COMPATIBILITY","code":"VEHICLE_NOT_CAPABLE","title":"Vehicle Not Capable",
				"detail":"The vehicle is incapable of performing your request.","description":"Deprecated. Use detail",
				"resolution":{"type":"UNKNOWN_RESOLUTION_TYPE"}}`,
			want: Error{Type: "COMPATIBILITY", Code: "VEHICLE_NOT_CAPABLE", Title: "Vehicle Not Capable",
				Description: "The vehicle is incapable of performing your request.", Resolution: "UNKNOWN_RESOLUTION_TYPE"},
		},
		{
			name: "validation detail list next to the JSON:API text", status: 400,
			body: `{"type":"VALIDATION","code":"PARAMETER","description":"Bad parameter.","detail":[{"field":["sc-user-id"],"message":"missing"}],
				"errors":[{"status":"400","type":"VALIDATION","code":"PARAMETER","detail":"Bad parameter."}]}`,
			want: Error{StatusCode: 400, Type: "VALIDATION", Code: "PARAMETER", Description: "Bad parameter.",
				Detail: []ErrorDetail{{Field: "sc-user-id", Message: "missing"}}},
		},
		{
			name: "fields of the wrong kind", status: 404,
			body: `{"type":"RESOURCE_NOT_FOUND","code":{"x":1},"title":["t"],"description":"Not here.","resolution":7,
				"errors":"nope","docURL":{},"suggestedUserMessage":false}`,
			want: Error{StatusCode: 404, Type: "RESOURCE_NOT_FOUND", Description: "Not here.", Resolution: "7", SuggestedUserMessage: "false"},
		},
		{
			name: "JSON:API with a type that is not a string", status: 502,
			body: `{"errors":[{"type":{"a":1},"detail":"x"}]}`,
			want: Error{StatusCode: 502, Type: TypeSDKError, Description: "unrecognised error body"},
		},
		{
			name: "JSON:API array of junk before an object", status: 401,
			body: `{"errors":[1,"two",{"type":"AUTHENTICATION","detail":"Bad token.","status":401}]}`,
			want: Error{StatusCode: 401, Type: "AUTHENTICATION", Description: "Bad token."},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decodeError(tt.status, http.Header{}, []byte(tt.body))
			if fmt.Sprint(*got) != fmt.Sprint(tt.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestErrV3NotEnabledOnlyWhenMarked(t *testing.T) {
	e := decodeError(404, nil, []byte(`{"type":"RESOURCE_NOT_FOUND","code":"VERSION","description":"d"}`))
	if errors.Is(e, ErrV3NotEnabled) {
		t.Errorf("an unmarked VERSION error (a v2.0 call) matches ErrV3NotEnabled")
	}
	e.markV3NotEnabled()
	if !errors.Is(fmt.Errorf("wrapped: %w", e), ErrV3NotEnabled) {
		t.Errorf("a v3 VERSION error does not match ErrV3NotEnabled through a wrap")
	}
	p := decodeError(404, nil, []byte(`{"type":"RESOURCE_NOT_FOUND","code":"PATH"}`))
	if p.markV3NotEnabled(); errors.Is(p, ErrV3NotEnabled) {
		t.Errorf("PATH matches ErrV3NotEnabled")
	}
}

// TestDecodeSignalShapes decodes signals as the sandbox, the API reference and
// recorded live answers write them.
func TestDecodeSignalShapes(t *testing.T) {
	at := time.Date(2026, 7, 10, 0, 16, 58, 549_000_000, time.UTC)
	t.Run("recorded live: under data, ISO times", func(t *testing.T) {
		body := `{"data":{"id":"odometer-traveleddistance","type":"signal","attributes":{"code":"odometer-traveleddistance",
			"name":"TraveledDistance","group":"Odometer","status":{"value":"SUCCESS"},"body":{"unit":"kilometers","value":115071.5}},
			"meta":{"retrievedAt":"2026-07-10T00:16:58.549Z","oemUpdatedAt":"2026-07-10T00:15:18.549Z","ingestedAt":"x"}},
			"included":{"vehicle":{"id":"v"}}}`
		s := decodeSignal(resourceOf([]byte(body)), http.Header{"Sc-Request-Id": {"r"}})
		if s.Code != SignalOdometer || s.Status != SignalSuccess || s.Err != nil || s.Value != (Measurement{115071.5, "kilometers"}) {
			t.Errorf("signal = %+v", s)
		}
		if !s.RetrievedAt.Equal(at) || !s.OEMUpdatedAt.Equal(at.Add(-100*time.Second)) {
			t.Errorf("times %v %v", s.RetrievedAt, s.OEMUpdatedAt)
		}
	})
	t.Run("epoch milliseconds as numbers and strings", func(t *testing.T) {
		body := fmt.Sprintf(`{"attributes":{"code":"closure-islocked","status":{"value":"SUCCESS"},"body":{"value":"true"}},
			"meta":{"retrievedAt":%d,"oemUpdatedAt":"%d"}}`, at.UnixMilli(), at.UnixMilli()-1000)
		s := decodeSignal(resourceOf([]byte(body)), nil)
		if s.Value != true || !s.RetrievedAt.Equal(at) || !s.OEMUpdatedAt.Equal(at.Add(-time.Second)) {
			t.Errorf("signal = %+v", s)
		}
	})
	t.Run("bad fields lose only themselves", func(t *testing.T) {
		body := `{"id":"tractionbattery-stateofcharge","attributes":{"name":5,"status":{"value":"SUCCESS"},
			"body":{"value":"81.5","unit":["percent"]}},"meta":{"retrievedAt":{"x":1},"oemUpdatedAt":-5}}`
		s := decodeSignal(resourceOf([]byte(body)), nil)
		if s.Code != SignalStateOfCharge || s.Name != "5" || s.Value != (Measurement{Value: 81.5}) || !s.RetrievedAt.IsZero() || !s.OEMUpdatedAt.IsZero() {
			t.Errorf("signal = %+v", s)
		}
	})
	t.Run("status ERROR without an error object", func(t *testing.T) {
		s := decodeSignal(resourceOf([]byte(`{"attributes":{"code":"charge-ischarging","status":{"value":"ERROR"}}}`)), http.Header{"Sc-Request-Id": {"r-9"}})
		if s.Err == nil || s.Err.Type != TypeSDKError || s.Err.RequestID != "r-9" || s.Value != nil {
			t.Errorf("signal = %+v, err %+v", s, s.Err)
		}
		if _, err := SignalValue[bool](s); !errors.Is(err, s.Err) {
			t.Errorf("SignalValue of a failed signal: %v", err)
		}
	})
	t.Run("no status, a body", func(t *testing.T) {
		s := decodeSignal(resourceOf([]byte(`{"attributes":{"code":"charge-detailedchargingstatus","body":{"value":"CHARGING"}}}`)), nil)
		if s.Status != SignalSuccess || s.Value != Charging {
			t.Errorf("signal = %+v", s)
		}
	})
	t.Run("unknown code keeps its body", func(t *testing.T) {
		s := decodeSignal(resourceOf([]byte(`{"attributes":{"code":"charge-voltage","status":{"value":"SUCCESS"},"body":{"value":230,"unit":"volts"}}}`)), nil)
		if s.Value != nil || string(s.Body) != `{"value":230,"unit":"volts"}` {
			t.Errorf("signal = %+v", s)
		}
		if m, err := SignalValue[Measurement](s); err != nil || m != (Measurement{230, "volts"}) {
			t.Errorf("SignalValue[Measurement] = %+v, %v", m, err)
		}
		if v, err := SignalValue[float64](s); err != nil || v != 230 {
			t.Errorf("SignalValue[float64] = %v, %v", v, err)
		}
		if _, err := SignalValue[[]string](s); err == nil {
			t.Errorf("SignalValue[[]string] of an object succeeded")
		}
	})
	t.Run("a list without links trusts the counts", func(t *testing.T) {
		p := decodeSignalPage([]byte(`{"data":[{"id":"a"},7,{"id":"b"}],"meta":{"pageNumber":1,"pageSize":2,"totalCount":5}}`), nil)
		if len(p.Signals) != 2 || p.Page != 1 || !p.HasNext || p.Signals[1].Code != "b" {
			t.Errorf("page = %+v", p)
		}
		p = decodeSignalPage([]byte(`{"data":[{"id":"e"}],"meta":{"page":3,"pageSize":2,"totalCount":5},"links":{"next":null}}`), nil)
		if p.HasNext {
			t.Errorf("last page has a next")
		}
	})
}
