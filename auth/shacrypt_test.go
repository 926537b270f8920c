package auth

import "testing"

// The SHA-256 test vectors of Ulrich Drepper's "Unix crypt using SHA-256 and
// SHA-512" (akkadia.org/drepper/SHA-crypt.txt); the first also checked with
// `openssl passwd -5 -salt saltstring 'Hello world!'`.
func TestSHA256CryptSpecVectors(t *testing.T) {
	for _, tc := range []struct{ setting, password, want string }{
		{"$5$saltstring", "Hello world!",
			"$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"},
		{"$5$rounds=10000$saltstringsaltstring", "Hello world!",
			"$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA"},
		{"$5$rounds=5000$toolongsaltstring", "This is just a test",
			"$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5"},
		{"$5$rounds=1400$anotherlongsaltstring",
			"a very much longer text to encrypt.  This one even stretches over morethan one line.",
			"$5$rounds=1400$anotherlongsalts$Rx.j8H.h8HjEDGomFU8bDkXm3XIUnzyxf12oP84Bnq1"},
		{"$5$rounds=77777$short", "we have a short salt string but not a short password",
			"$5$rounds=77777$short$JiO1O3ZpDAxGJeaDIuqCoEFysAe1mZNJRs3pw0KQRd/"},
		{"$5$rounds=123456$asaltof16chars..", "a short string",
			"$5$rounds=123456$asaltof16chars..$gP3VQ/6X7UUEW3HkBn2w1/Ptq2jxPyzV/cZKmF/wJvD"},
		{"$5$rounds=10$roundstoolow", "the minimum number is still observed",
			"$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC"},
	} {
		got, err := sha256Crypt(tc.password, tc.setting)
		if err != nil {
			t.Fatalf("%s: %v", tc.setting, err)
		}
		if got != tc.want {
			t.Errorf("crypt(%q, %q)\n got %s\nwant %s", tc.password, tc.setting, got, tc.want)
		}
		// A full hash is its own setting.
		if again, _ := sha256Crypt(tc.password, got); again != got {
			t.Errorf("re-crypt with %s gave %s", got, again)
		}
	}
}

func TestSHA256CryptBadSettings(t *testing.T) {
	for _, s := range []string{"", "$6$salt", "$5$rounds=x$salt", "$5$rounds=10"} {
		if _, err := sha256Crypt("pw", s); err == nil {
			t.Errorf("setting %q accepted", s)
		}
	}
}
