// Package pep440 implements version parsing, normalization, ordering and
// version specifiers as defined by the Python packaging "Version specifiers"
// specification (formerly PEP 440).
//
// https://packaging.python.org/en/latest/specifications/version-specifiers/
//
// The behaviour follows the reference implementation, the Python "packaging"
// library (packaging.version, packaging.specifiers and
// packaging.utils.canonicalize_version):
//
//   - Parse accepts the permissive syntax that packaging accepts (any case, a
//     leading "v", surrounding whitespace, alternate spellings such as
//     "alpha", "preview" or "rev", implicit post releases such as "1.0-1",
//     omitted numbers, and "-" or "_" as separators) and String returns the
//     normalized form that packaging prints.
//   - Numeric components have no size limit: they are kept as decimal digit
//     strings and compared by length, then lexically, so nothing overflows.
//   - Compare implements packaging's ordering, in which trailing zeros in the
//     release segment are insignificant (1.0 == 1.0.0).
//   - SpecifierSet implements the specifier operators (~=, ==, !=, <=, >=,
//     <, >, ===), including wildcards and the exclusive-ordering rules for
//     pre-, post- and local versions.
//
// Only ASCII letters and digits are accepted inside a version; packaging
// rejects the non-ASCII look-alikes too. Ordering never uses plain string
// comparison: use Compare, Sort or Max.
package pep440
