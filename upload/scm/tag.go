package scm

import (
	"fmt"
	"strings"

	"github.com/pyindex/pyindex/index/pep440"
)

// tagVersion is a version_cls instance: the parsed version plus its str(),
// which is the normalized form, or the raw text with NoNormalize.
type tagVersion struct {
	str string
	v   pep440.Version
	ok  bool // v is set (false for preformatted strings)
}

// parseVersion is packaging.version.Version(s).
func parseVersion(s string) (pep440.Version, error) {
	return pep440.Parse(s)
}

// versionCls is config.version_cls(s): Version, or NonNormalizedVersion
// (validated, but str() returns s unchanged) when NoNormalize.
func (c *config) versionCls(s string) (tagVersion, error) {
	v, err := parseVersion(s)
	if err != nil {
		return tagVersion{}, errorf(ErrInvalidVersion, "Invalid version: %s", pyRepr(s))
	}
	tv := tagVersion{str: v.String(), v: v, ok: true}
	if c.NoNormalize {
		tv.str = s
	}
	return tv, nil
}

// parsedTag is _parse_version_tag's result.
type parsedTag struct {
	version, prefix, suffix string
}

// parseVersionTag is _parse_version_tag: the tag regex, re.match
// semantics, the only group or the group named "version". ok is false
// when the regex does not match or the version group is empty.
func (c *config) parseVersionTag(tag string) (parsedTag, bool, error) {
	m := c.tagRegex.FindStringSubmatchIndex(tag)
	if m == nil {
		return parsedTag{}, false, nil
	}
	k := c.versionKey
	if k < 0 {
		return parsedTag{}, false, errorf(ErrConfig, "tag_regex %q has no group named 'version' (no such group)", c.tagRegex.String())
	}
	if m[2*k] < 0 {
		return parsedTag{}, false, nil
	}
	return parsedTag{
		version: tag[m[2*k]:m[2*k+1]],
		prefix:  tag[m[0]:m[2*k]],
		suffix:  tag[m[2*k+1]:m[1]],
	}, true, nil
}

// tagToVersion is meta()'s _parse_tag: tag_to_version, and an error when it
// gives nothing. In 7 and 8 the text after the version group (a "+local"
// part) is dropped with a warning; from 9 it is kept when version+suffix is
// valid PEP 440, and moved to the result's TagLocal by the caller. From 10.1
// a configured tag prefix is stripped first.
func (c *config) tagToVersion(tag string) (tagVersion, error) {
	text := tag
	if c.TagPrefix != "" {
		text = strings.TrimPrefix(text, c.TagPrefix)
	}
	p, ok, err := c.parseVersionTag(text)
	if err != nil {
		return tagVersion{}, err
	}
	if !ok || p.version == "" {
		c.Warn(fmt.Sprintf("tag %s no version found", pyRepr(tag)))
		if c.Compat >= Compat10 {
			return tagVersion{}, errorf(ErrBadTag, "tag %s does not contain a valid version", pyRepr(tag))
		}
		return tagVersion{}, errorf(ErrBadTag, "tag %s: no version found (tag_regex does not match it)", pyRepr(tag))
	}
	if p.suffix != "" {
		if c.Compat >= Compat9 {
			if tv, err := c.versionCls(p.version + p.suffix); err == nil {
				return tv, nil
			}
		}
		c.Warn(fmt.Sprintf("tag %s will be stripped of its suffix '%s'", pyRepr(tag), p.suffix))
	}
	tv, err := c.versionCls(p.version)
	if err != nil && c.Compat >= Compat10 {
		return tagVersion{}, errorf(ErrBadTag, "tag %s does not contain a valid version: %v", pyRepr(tag), err)
	}
	return tv, err
}

// public returns the version without its local part, and the normalized
// local part ("" when none): 9.x's version.tag.public and .local.
func (t tagVersion) split() (public tagVersion, local string) {
	if !t.ok {
		return t, ""
	}
	local = t.v.Local()
	if local == "" {
		return t, ""
	}
	pub, _, _ := strings.Cut(t.str, "+")
	v, err := parseVersion(pub)
	if err != nil {
		return t, local
	}
	return tagVersion{str: pub, v: v, ok: true}, local
}
