# shellcheck shell=bash
# Self-signed certificates for the TLS benchmarks (tls_h2.sh,
# tls_instructions.sh), made with the openssl CLI at run time: no key is
# ever committed.

# make_certs DIR TYPE... -- for each TYPE (ecdsa: P-256, rsa: RSA-2048)
# writes DIR/TYPE/cert.pem and DIR/TYPE/key.pem (CN=localhost, 2 days).
make_certs() {
  local dir=$1 t
  local -a newkey
  shift
  for t in "$@"; do
    case $t in
      ecdsa) newkey=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) ;;
      rsa) newkey=(-newkey rsa:2048) ;;
      *) die "make_certs: unknown certificate type '$t' (ecdsa, rsa)" ;;
    esac
    mkdir -p "$dir/$t"
    openssl req -x509 "${newkey[@]}" -nodes -days 2 -subj /CN=localhost \
      -keyout "$dir/$t/key.pem" -out "$dir/$t/cert.pem" >"$dir/openssl-req.out" 2>&1 ||
      die "openssl req ($t) failed: $(tail -n3 "$dir/openssl-req.out")"
  done
}
