package index

// HookCompareHash runs hook before each bcrypt comparison of
// CheckPassword until the returned function is called.
func HookCompareHash(hook func()) (restore func()) {
	orig := compareHash
	compareHash = func(hash, password []byte) error {
		hook()
		return orig(hash, password)
	}
	return func() { compareHash = orig }
}
