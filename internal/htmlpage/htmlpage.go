// Package htmlpage reads server-rendered HTML on a real parser (golang.org/x/net/html,
// through goquery): a parsed page, its elements found by id or CSS selector, their
// text and attributes, and its forms as a browser without JavaScript would submit them.
//
// Selectors are CSS as cascadia reads them (with jQuery's :contains("…")); an invalid
// selector is a programming error and panics, as a bad regexp.MustCompile does.
//
// The Connect walker (internal/connectwalk), the benchmark (cmd/bench) and the tests
// use it, so that none of them reads HTML with regular expressions.
package htmlpage

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/PuerkitoBio/goquery"
	"github.com/andybalholm/cascadia"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Page is a parsed HTML document.
type Page struct {
	doc *goquery.Document
}

// Parse parses an HTML document or fragment. It does not fail: like a browser, the
// parser repairs broken markup. Scripting is off, as for a client without JavaScript
// (a <noscript>'s content is markup, not text).
func Parse(body string) *Page {
	root, err := html.ParseWithOptions(strings.NewReader(body), html.ParseOptionEnableScripting(false))
	if err != nil { // only a read error, which a strings.Reader does not give
		root = &html.Node{Type: html.DocumentNode}
	}
	return &Page{doc: goquery.NewDocumentFromNode(root)}
}

// Element is one element of a page. The zero Element stands for none: its text and
// attributes are empty.
type Element struct {
	n *html.Node
}

// ByID returns the element with that id attribute (compared exactly, so any id works,
// not only those valid in a CSS selector).
func (p *Page) ByID(id string) (Element, bool) {
	for _, n := range p.doc.Find("[id]").Nodes {
		if v, _ := attr(n, "id"); v == id {
			return Element{n}, true
		}
	}
	return Element{}, false
}

// First returns the first element, in document order, that matches the CSS selector.
func (p *Page) First(selector string) (Element, bool) {
	if s := p.doc.FindMatcher(goquery.SingleMatcher(compile(selector))); s.Length() > 0 {
		return Element{s.Nodes[0]}, true
	}
	return Element{}, false
}

// All returns the elements that match the CSS selector, in document order.
func (p *Page) All(selector string) []Element {
	var out []Element
	for _, n := range p.doc.FindMatcher(compile(selector)).Nodes {
		out = append(out, Element{n})
	}
	return out
}

// Count returns how many elements match the CSS selector.
func (p *Page) Count(selector string) int {
	return p.doc.FindMatcher(compile(selector)).Length()
}

// Text returns the page's text (see Element.Text), its title included.
func (p *Page) Text() string { return textOf(p.doc.Nodes[0]) }

func compile(selector string) cascadia.Selector {
	s, err := cascadia.Compile(selector)
	if err != nil {
		panic(fmt.Sprintf("htmlpage: bad selector %q: %v", selector, err))
	}
	return s
}

// Text returns the element's text: its text nodes with entities decoded, scripts and
// styles left out, every element's text set apart from its neighbours' by a space
// (`12<span>km</span>` reads "12 km", as on screen, but `Dis<b>connect</b>` reads
// "Dis connect": without the stylesheet, which elements run on is unknown), and
// whitespace collapsed to single spaces.
func (e Element) Text() string {
	if e.n == nil {
		return ""
	}
	return textOf(e.n)
}

// Attr returns the value of the element's attribute, entities decoded ("" if it has
// none).
func (e Element) Attr(name string) string {
	v, _ := attr(e.n, name)
	return v
}

// has reports whether the element carries the attribute, even without a value.
func (e Element) has(name string) bool {
	_, ok := attr(e.n, name)
	return ok
}

func attr(n *html.Node, name string) (string, bool) {
	if n == nil {
		return "", false
	}
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == name {
			return a.Val, true
		}
	}
	return "", false
}

// hidden are the elements whose content is not text a reader sees.
var hidden = map[atom.Atom]bool{atom.Script: true, atom.Style: true, atom.Template: true}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.TextNode:
			b.WriteString(n.Data)
			return
		case html.CommentNode, html.DoctypeNode:
			return
		case html.ElementNode:
			if hidden[n.DataAtom] {
				return
			}
			b.WriteByte(' ')
			defer b.WriteByte(' ')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// Snippet is the start of a response body's text, for error messages: an HTML page's
// text as Page.Text reads it (JSON or plain text reads as itself, whitespace folded),
// at most 300 characters.
func Snippet(body string) string {
	s := Parse(body).Text()
	if r := []rune(s); len(r) > 300 {
		s = string(r[:300]) + "…"
	}
	return s
}

// Form is an HTML form, as far as submitting it goes.
type Form struct {
	Action string // as written; resolve it against the page's URL
	Method string // http.MethodGet or http.MethodPost
	Fields []Field
}

// Field is one input, button, select or textarea of a form, in document order.
type Field struct {
	Tag   string // input, button, select or textarea
	ID    string
	Class string
	Name  string
	// Value is what the field sends: the value attribute; for a select, the selected
	// option's value (else the first option's); for a textarea, its text.
	Value string
	// Type is the type attribute, lower-cased, with HTML's defaults: "text" for an
	// input, "submit" for a button; "" for a select or a textarea.
	Type              string
	Checked, Disabled bool
}

// Forms returns the forms of the page, in document order.
func (p *Page) Forms() []Form {
	var out []Form
	p.doc.Find("form").Each(func(_ int, s *goquery.Selection) { out = append(out, formOf(s)) })
	return out
}

// Form returns the first form that matches the CSS selector, e.g.
// `form[action^="/vehicle/"]`.
func (p *Page) Form(selector string) (*Form, bool) {
	s := p.doc.FindMatcher(compile(selector)).Filter("form").First()
	if s.Length() == 0 {
		return nil, false
	}
	f := formOf(s)
	return &f, true
}

func formOf(form *goquery.Selection) Form {
	e := Element{form.Nodes[0]}
	f := Form{Action: e.Attr("action"), Method: http.MethodGet}
	if strings.EqualFold(e.Attr("method"), http.MethodPost) {
		f.Method = http.MethodPost
	}
	form.Find("input, button, select, textarea").Each(func(_ int, s *goquery.Selection) {
		c := Element{s.Nodes[0]}
		fl := Field{Tag: c.n.Data, ID: c.Attr("id"), Class: c.Attr("class"), Name: c.Attr("name"),
			Value: c.Attr("value"), Type: strings.ToLower(c.Attr("type")),
			Checked: c.has("checked"), Disabled: c.has("disabled")}
		switch fl.Tag {
		case "input":
			if fl.Type == "" {
				fl.Type = "text"
			}
		case "button":
			if fl.Type == "" {
				fl.Type = "submit"
			}
		case "select":
			fl.Type, fl.Value = "", ""
			opts := s.Find("option")
			if sel := opts.Filter("[selected]"); sel.Length() > 0 {
				opts = sel
			}
			if opts.Length() > 0 {
				o := Element{opts.Nodes[0]}
				if v, ok := attr(o.n, "value"); ok {
					fl.Value = v
				} else {
					fl.Value = o.Text()
				}
			}
		case "textarea":
			fl.Type, fl.Value = "", s.Text()
		}
		f.Fields = append(f.Fields, fl)
	})
	return f
}

// Values returns what a browser sends when the submit button with id click is pressed
// ("" for none): every named field's value, checked boxes and radios only ("on" when
// they have no value), disabled fields and other buttons left out.
func (f *Form) Values(click string) url.Values {
	v := url.Values{}
	for _, fl := range f.Fields {
		if fl.Name == "" || fl.Disabled {
			continue
		}
		switch fl.Type {
		case "submit", "image":
			if click != "" && fl.ID == click {
				v.Add(fl.Name, fl.Value)
				click = "" // only the first matching button
			}
		case "button", "reset", "file":
		case "checkbox", "radio":
			if fl.Checked {
				val := fl.Value
				if val == "" {
					val = "on"
				}
				v.Add(fl.Name, val)
			}
		default:
			v.Add(fl.Name, fl.Value)
		}
	}
	return v
}

// Has reports whether the form has a control with that id.
func (f *Form) Has(id string) bool {
	for _, fl := range f.Fields {
		if fl.ID == id {
			return true
		}
	}
	return false
}
