package selfsign

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// defaultHosts are the names a certificate covers when none are given.
var defaultHosts = []string{"127.0.0.1", "::1", "localhost"}

// DefaultValidity is how long WriteFiles' certificates are valid.
const DefaultValidity = 365 * 24 * time.Hour

// clockSkew backdates NotBefore so a client whose clock is a little behind
// accepts a certificate made a moment ago.
const clockSkew = time.Hour

// Generate makes an ECDSA P-256 key and a self-signed certificate for hosts
// (IP addresses and DNS names; none means 127.0.0.1, ::1 and localhost),
// valid for validFor from now, and returns both PEM-encoded (the key as
// PKCS #8). The certificate is a CA for itself, so it can be given to a
// client as its root.
func Generate(hosts []string, validFor time.Duration) (certPEM, keyPEM []byte, err error) {
	if validFor <= 0 {
		return nil, nil, fmt.Errorf("selfsign: validity %s: want a positive duration", validFor)
	}
	if len(hosts) == 0 {
		hosts = defaultHosts
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("selfsign: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("selfsign: serial number: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hosts[0], Organization: []string{"shardgate self-signed"}},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(validFor),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, h := range hosts {
		if h == "" {
			return nil, nil, errors.New("selfsign: empty host name")
		}
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("selfsign: create certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("selfsign: encode key: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return certPEM, keyPEM, nil
}

// WriteFiles generates a certificate for hosts valid for DefaultValidity
// and writes it to certPath (mode 0644) and its key to keyPath (mode 0600).
// Each file is written to a temporary file in its folder and renamed, so a
// reader never sees half a file and an existing file's wider mode is not
// kept.
func WriteFiles(certPath, keyPath string, hosts []string) error {
	certPEM, keyPEM, err := Generate(hosts, DefaultValidity)
	if err != nil {
		return err
	}
	if err := writeFile(keyPath, keyPEM, 0o600); err != nil {
		return err
	}
	return writeFile(certPath, certPEM, 0o644)
}

func writeFile(path string, data []byte, mode os.FileMode) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("selfsign: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	// CreateTemp makes the file 0600; widen only what should be.
	if err = f.Chmod(mode); err != nil {
		return fmt.Errorf("selfsign: %w", err)
	}
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("selfsign: write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("selfsign: write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("selfsign: write %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("selfsign: %w", err)
	}
	return nil
}
