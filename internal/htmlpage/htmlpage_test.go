package htmlpage

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	for _, tc := range []struct {
		name, page, id, want string
	}{
		{"nested same tag", `<div id="a"><div>one <div>two</div></div> three</div><div>after</div>`, "a", "one two three"},
		{"elements set apart", `<p id="a">12,346<span class="unit">km</span> <a href="#">more</a>.</p>`, "a", "12,346 km more ."},
		{"blocks set apart", `<dl id="a"><dt>Our reference</dt><dd>abc-1</dd></dl>`, "a", "Our reference abc-1"},
		{"entities", `<h1 id="a">Tom &amp; Jerry&#39;s &lt;car&gt; &mdash; &#x263A;</h1>`, "a", "Tom & Jerry's <car> — ☺"},
		{"whitespace collapsed", "<p id=a>\n  two\t\twords&nbsp; here \n</p>", "a", "two words here"},
		{"script and style left out", `<div id="a">x<script>var s = "<b>no</b>";</script><style>p{}</style>y</div>`, "a", "xy"},
		{"comment left out", `<div id="a">x<!-- <b>no</b> -->y</div>`, "a", "xy"},
		{"unclosed", `<ul id="a"><li>one<li>two</ul><p>after`, "a", "one two"},
		{"no such id", `<p id="b">x</p>`, "a", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			el, _ := Parse(tc.page).ByID(tc.id)
			if got := el.Text(); got != tc.want {
				t.Errorf("Text = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPageText(t *testing.T) {
	p := Parse(`<!doctype html><html><head><title>Oops · App</title><style>h1{}</style></head>
		<body><h1>Not found</h1><p class="lead">No page at <code>/x</code>.</p></body></html>`)
	if got, want := p.Text(), "Oops · App Not found No page at /x ."; got != want {
		t.Errorf("Text = %q, want %q", got, want)
	}
}

func TestAttr(t *testing.T) {
	page := `<a id="q1" href="/x?a=1&amp;b=2" title='say "hi"' data-x="it's">x</a>
		<input id=bare value=plain disabled>
		<button id="1-odd.id" onclick="go('a&quot;b')">b</button>`
	p := Parse(page)
	for _, tc := range []struct {
		id, name, want string
		has            bool
	}{
		{"q1", "href", "/x?a=1&b=2", true},
		{"q1", "title", `say "hi"`, true},
		{"q1", "data-x", "it's", true},
		{"q1", "HREF", "", false}, // names are lower-case once parsed
		{"q1", "rel", "", false},
		{"bare", "value", "plain", true},
		{"bare", "disabled", "", true},
		{"1-odd.id", "onclick", `go('a"b')`, true},
		{"missing", "id", "", false},
	} {
		el, _ := p.ByID(tc.id)
		if got, has := el.Attr(tc.name), el.has(tc.name); got != tc.want || has != tc.has {
			t.Errorf("#%s [%s] = %q, %v; want %q, %v", tc.id, tc.name, got, has, tc.want, tc.has)
		}
	}
	if _, ok := p.ByID("1-odd.id"); !ok {
		t.Error("ByID must find an id that is no valid CSS selector")
	}
}

func TestSelectors(t *testing.T) {
	p := Parse(`<table><tr class="vehicle-row x"><td><a href="/v/1">1</a></td><td><a href="/v/1?d">d</a></td></tr>
		<tr class="vehicle-row"><td><a href="/v/2">2</a></td></tr><tr class="vehicle-rows"><td>no</td></tr></table>`)
	if n := p.Count(".vehicle-row"); n != 2 {
		t.Errorf("Count(.vehicle-row) = %d, want 2", n)
	}
	var hrefs []string
	for _, a := range p.All("tr.vehicle-row > td:first-child > a") {
		hrefs = append(hrefs, a.Attr("href"))
	}
	if want := []string{"/v/1", "/v/2"}; !reflect.DeepEqual(hrefs, want) {
		t.Errorf("All = %q, want %q", hrefs, want)
	}
	if el, ok := p.First("td a"); !ok || el.Text() != "1" {
		t.Errorf("First(td a) = %q, %v", el.Text(), ok)
	}
	refs := Parse(`<dl><dt>Error</dt><dd>E1</dd><dt>Our reference</dt><dd class="mono"> r-1 </dd></dl>`)
	if el, ok := refs.First(`dt:contains("Our reference") + dd`); !ok || el.Text() != "r-1" {
		t.Errorf("First(dt:contains + dd) = %q, %v", el.Text(), ok)
	}
	if _, ok := p.First("p"); ok {
		t.Error("First(p) found something")
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), `bad selector "tr["`) {
			t.Errorf("a bad selector must panic with its name, got %v", r)
		}
	}()
	p.Count("tr[")
}

const grantPage = `<h1>Allow?</h1>
<form method="post" action="/grant?x=1&amp;y=2">
  <input type="hidden" name="session" value="a&amp;b &quot;c&quot;">
  <input type="checkbox" name="vehicle" value="v1" checked>
  <input type="checkbox" name="vehicle" value="v2">
  <input type="checkbox" name="vehicle" value="v3" checked disabled>
  <input type="checkbox" name="agree" checked>
  <label>Email <input id="username" name="username"></label>
  <select name="units"><option value="metric">m</option><optgroup><option selected>imperial</option></optgroup></select>
  <select name="lang"><option value="en">English</option><option value="de">Deutsch</option></select>
  <textarea name="note">
line one &amp; two</textarea>
  <input type="reset" name="r" value="reset">
  <button type="button" id="help" name="help" value="1">?</button>
  <button id="approval-button" class="button primary" name="action" value="approve">Allow</button>
  <button type="submit" id="deny-button" name="action" value="deny">Deny</button>
  <input type="submit" id="plain-submit" name="go" value="Go">
</form>
<form action="/search"><input name="q" value="x"><button>Search</button></form>
<form METHOD="POST" action="/vehicle/1/lock"><button id="lock-button">Lock</button></form>`

func TestForms(t *testing.T) {
	p := Parse(grantPage)
	forms := p.Forms()
	if len(forms) != 3 {
		t.Fatalf("%d forms, want 3", len(forms))
	}
	f := forms[0]
	if f.Action != "/grant?x=1&y=2" || f.Method != "POST" || forms[1].Method != "GET" || forms[2].Method != "POST" {
		t.Errorf("forms: %q %s, %s, %s", f.Action, f.Method, forms[1].Method, forms[2].Method)
	}
	if fl := f.Fields[0]; fl != (Field{Tag: "input", Type: "hidden", Name: "session", Value: `a&b "c"`}) {
		t.Errorf("hidden field = %+v", fl)
	}
	byID := func(id string) Field {
		for _, fl := range f.Fields {
			if fl.ID == id {
				return fl
			}
		}
		t.Fatalf("no field #%s", id)
		return Field{}
	}
	if fl := byID("username"); fl.Tag != "input" || fl.Type != "text" {
		t.Errorf("an input without a type: %+v", fl)
	}
	if fl := byID("approval-button"); fl.Tag != "button" || fl.Type != "submit" || fl.Class != "button primary" || fl.Value != "approve" {
		t.Errorf("a button without a type: %+v", fl)
	}
	for _, tc := range []struct {
		click string
		want  url.Values
	}{
		{"approval-button", url.Values{"action": {"approve"}}},
		{"deny-button", url.Values{"action": {"deny"}}},
		{"plain-submit", url.Values{"go": {"Go"}}},
		{"help", nil}, // type=button submits nothing of its own
		{"", nil},
	} {
		want := url.Values{"session": {`a&b "c"`}, "vehicle": {"v1"}, "agree": {"on"}, "username": {""},
			"units": {"imperial"}, "lang": {"en"}, "note": {"line one & two"}}
		for k, v := range tc.want {
			want[k] = v
		}
		if got := f.Values(tc.click); got.Encode() != want.Encode() {
			t.Errorf("Values(%q) = %v, want %v", tc.click, got, want)
		}
	}
	if !f.Has("deny-button") || f.Has("lock-button") {
		t.Error("Has")
	}
	lock, ok := p.Form(`form[action^="/vehicle/"]`)
	if !ok || lock.Action != "/vehicle/1/lock" || !lock.Has("lock-button") {
		t.Errorf("Form(action^=/vehicle/) = %+v, %v", lock, ok)
	}
	if _, ok := p.Form(`[action^="/vehicle/"] button`); ok {
		t.Error("Form must match a form, not a control in it")
	}
	if _, ok := p.Form(`form[action="/nowhere"]`); ok {
		t.Error("Form found a form that is not there")
	}
}

func TestSnippet(t *testing.T) {
	long := strings.Repeat("é", 400)
	for _, tc := range []struct{ name, body, want string }{
		{"html", "<html><head><title>T</title></head><body>\n<h1>Error</h1>\n<p>Bad &amp; worse</p>", "T Error Bad & worse"},
		{"json", `{"error": "invalid_grant",   "description": "no"}`, `{"error": "invalid_grant", "description": "no"}`},
		{"cut on a rune", long, strings.Repeat("é", 300) + "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Snippet(tc.body); got != tc.want {
				t.Errorf("Snippet = %q, want %q", got, tc.want)
			}
		})
	}
}
