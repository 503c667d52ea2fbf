import { DEFAULT_CONCURRENCY } from '../analysis/analyze.js';

/** The options of check and the explorer that decide the verdict: profile, budgets, rules, scope. */
const POLICY_OPTIONS = `  --profile scf|cloudbase|none   platform rules to check against (default scf: Tencent SCF image functions)
  --memory MiB                   the function memory you picked, judged against the image's memory tier
  --max-compressed SIZE, --max-uncompressed SIZE, --max-layers N   your budgets (300MB, 300MiB, 1GiB, whole bytes)
  --lowestEfficiency R, --highestWastedBytes SIZE, --highestUserWastedPercent R   dive's CI rules
                                 (a value or "disabled"), also spelled --lowest-efficiency,
                                 --highest-wasted-bytes and --highest-user-wasted-percent
  --config FILE                  imgscope.config.json to use (default: found upward from here)
  --ci-config FILE               dive's .dive-ci to read (default: ./.dive-ci when present)
  --fail-on fail|warn            with warn, warnings fail the verdict too
  --no-layers                    manifest-level checks only; no layer is downloaded
  --full                         analyse layers even when the manifest checks already failed
  --concurrency N                layers streamed at once (default ${DEFAULT_CONCURRENCY})`;

export const HELP = `imgscope — will this image be accepted, what does it cost, and where is the waste?

Usage
  imgscope IMAGE                 interactive explorer (the check summary off a terminal, or on TERM=dumb)
  imgscope check IMAGE           verdict, sizes, layers, efficiency and waste; exit 1 when a check fails
  imgscope inspect IMAGE         manifest, config and layers without downloading any layer
  imgscope cache ls [--json]     layer analyses kept for re-runs: digest, size, last use
  imgscope cache prune [--max-size SIZE]   drop the least recently used until the rest fit (all without it)

IMAGE
  alpine:3.20, ghcr.io/org/app@sha256:…, docker://…   an image in a registry (no Docker daemon needed)
  oci:DIR[:REF|:@N]              an OCI image layout directory
  oci-archive:FILE[:REF|:@N]     an OCI layout in a tar file
  docker-archive:FILE[:NAME:TAG|:@N] a docker save / kaniko / crane tarball
  PATH[:@N]                      a layout directory or archive, detected

Options (for check; the explorer takes them all but --json, --format, --no-layers and --full; inspect
takes --json, --platform and the registry options, cache takes --json, --cache-dir and --max-size; an
option a command does not take is an error, never ignored)
  --json                         the JSON report on stdout (same as --format json)
  --format table|json|markdown|github
  --platform os/arch[/variant]   platform to pick from an index (default linux/amd64)
${POLICY_OPTIONS}
  --cache-dir DIR                where layer analyses and image summaries are cached (default
                                 $IMGSCOPE_CACHE_DIR, else $XDG_CACHE_HOME/imgscope, else ~/.cache/imgscope);
                                 a cached layer is not downloaded again, a cached image's layers are not
                                 decompressed (a local image's blobs are hashed again only when their files
                                 changed)
  --no-cache                     neither read nor write the layer cache (wins over --cache-dir)
  --insecure-registry HOST       plain HTTP for HOST, or HTTPS without a certificate check if it speaks
                                 TLS (repeatable; loopback hosts are always insecure)
  --username USER --password-stdin   registry credentials (else Docker/Podman credential files)
  --debug                        log registry exchanges (credentials redacted) and cache hits, and show
                                 stack traces
  -h, --help   -V, --version

Environment
  IMGSCOPE_USERNAME, IMGSCOPE_PASSWORD   registry credentials
  IMGSCOPE_REGISTRY              the registry they are for; unset, they go to the image's registry
  IMGSCOPE_INSECURE_REGISTRIES   comma-separated hosts taken as --insecure-registry HOST
  HTTPS_PROXY, HTTP_PROXY, NO_PROXY
                                 proxies, read as docker and skopeo do (loopback is always direct)
  NODE_EXTRA_CA_CERTS            a PEM file of CAs to trust beside Node.js's (a company CA)
  IMGSCOPE_CERTS_DIR             per-registry CAs and client certificates in DIR/HOST[:PORT]/
                                 (else ~/.config/containers/certs.d, /etc/containers/certs.d,
                                 /etc/docker/certs.d)
  IMGSCOPE_TIMEOUT_CONNECT_MS, IMGSCOPE_TIMEOUT_HEADERS_MS, IMGSCOPE_TIMEOUT_IDLE_MS
                                 registry timeouts in ms (15000, 30000, 30000; idle = silence mid-body)
  IMGSCOPE_DECOMPRESSION_LIMIT   stop with an error past this many uncompressed bytes (64GiB)
  IMGSCOPE_CACHE_DIR             the layer cache folder (--cache-dir wins)
  IMGSCOPE_NO_CACHE=1            no layer cache unless --cache-dir is given
  XDG_CACHE_HOME                 the layer cache goes in $XDG_CACHE_HOME/imgscope (else ~/.cache/imgscope)
  REGISTRY_AUTH_FILE, DOCKER_CONFIG, XDG_RUNTIME_DIR, XDG_CONFIG_HOME
                                 where registry logins are read (else ~/.docker/config.json, then
                                 Podman's containers/auth.json in $XDG_RUNTIME_DIR, then $XDG_CONFIG_HOME)
  NO_COLOR                       no colour in the summary or the explorer
  FORCE_COLOR                    colour in check's summary off a terminal too, NO_COLOR notwithstanding
                                 (empty, 1, 2, 3, true; any other value turns it off, on a terminal too)

Exit codes: 0 ok, 1 a check failed, 2 bad input or error.
`;

const IMAGE_FORMS = `IMAGE
  alpine:3.20, ghcr.io/org/app@sha256:…, docker://…   an image in a registry (no Docker daemon needed)
  oci:DIR[:REF|:@N], oci-archive:FILE[:REF|:@N], docker-archive:FILE[:NAME:TAG|:@N], or a PATH[:@N] (detected)`;

const IMAGE_ACCESS = `  --platform os/arch[/variant]   the platform to pick from an index (default linux/amd64); when given,
                                 an image of a single platform must be this one, else exit 2
  --insecure-registry HOST       plain HTTP for HOST, or HTTPS without a certificate check if it speaks
                                 TLS (repeatable; loopback hosts are always insecure)
  --username USER --password-stdin   registry credentials (else Docker/Podman credential files)`;

/** `imgscope COMMAND --help` (or `imgscope help COMMAND`): the command's usage, its options, an example. */
export const COMMAND_HELP = {
  check: `imgscope check — will this image be accepted? Verdict, sizes, layers, efficiency and waste

Usage
  imgscope check IMAGE [options]

${IMAGE_FORMS}

Options
  --json                         the JSON report on stdout (same as --format json)
  --format table|json|markdown|github
${IMAGE_ACCESS}
${POLICY_OPTIONS}
  --cache-dir DIR                where layer analyses and image summaries are cached
  --no-cache                     neither read nor write the layer cache (wins over --cache-dir)
  --debug                        log registry exchanges and cache hits, and show stack traces
  -h, --help

Example
  imgscope check --max-compressed 300MB --format markdown ghcr.io/org/app:1.4

Exit codes: 0 pass or warn, 1 a check failed (or warned, with --fail-on warn), 2 bad input or error.
`,
  inspect: `imgscope inspect — manifest, config and layers of an image, without downloading any layer

Usage
  imgscope inspect IMAGE [options]

${IMAGE_FORMS}

Options
  --json                         everything as JSON on stdout
${IMAGE_ACCESS}
  --debug                        log registry exchanges (credentials redacted) and show stack traces
  -h, --help

Example
  imgscope inspect --platform linux/arm64 ghcr.io/org/app:1.4

Exit codes: 0 ok, 2 bad input or error.
`,
  cache: `imgscope cache — the layer analyses and image summaries kept for re-runs

Usage
  imgscope cache ls [--json]             entries (digest, size, last use) and the total
  imgscope cache prune [--max-size SIZE] drop the least recently used until the rest fit (all without it)

Options
  --json                         the listing or what was pruned as JSON on stdout
  --max-size SIZE                for prune: the size to keep the cache under (300MB, 2GiB, whole bytes)
  --cache-dir DIR                the cache folder (default $IMGSCOPE_CACHE_DIR, else
                                 $XDG_CACHE_HOME/imgscope, else ~/.cache/imgscope)
  --debug                        show stack traces
  -h, --help

Example
  imgscope cache prune --max-size 2GiB

Exit codes: 0 ok, 2 bad input or error.
`,
} as const;

/** The help `imgscope help [COMMAND]` or `imgscope [COMMAND] --help` prints: the command's, else the global one. */
export function helpFor(topic: string | undefined): string {
  return topic !== undefined && Object.hasOwn(COMMAND_HELP, topic)
    ? COMMAND_HELP[topic as keyof typeof COMMAND_HELP]
    : HELP;
}
