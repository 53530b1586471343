# debian/symbols-fields.awk: tidy the output of dpkg-gensymbols for
# debian/libpkjwt1.symbols (used by `make deb-symbols`). Drops the lines of
# removed symbols and gives every library's section the
# Build-Depends-Package field, so a library new to the package gets it too.
/^ *#MISSING/ { next }
hdr && !/^\* Build-Depends-Package:/ { print "* Build-Depends-Package: libpkjwt-dev" }
{ hdr = 0; print }
/^[^ #*|]/ { hdr = 1 }
