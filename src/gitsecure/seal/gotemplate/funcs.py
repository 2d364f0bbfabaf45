"""The function table behind :mod:`gitsecure.seal.gotemplate`, assembled from its themed modules.

Go's text/template builtins (:mod:`.funcs_builtins`) and the Sprig functions
sealed-secrets users reach for: encoding and hashing (:mod:`.funcs_encoding`),
strings (:mod:`.funcs_strings`), numbers (:mod:`.funcs_math`), defaults and flow
control (:mod:`.funcs_defaults`), lists and dicts (:mod:`.funcs_collections`).
The parts of Go's ``fmt`` and ``encoding/json`` they depend on are in
:mod:`.gofmt` and :mod:`.gojson`, the Go value model in :mod:`.values`.

Every :class:`.errors.FuncError` message is fixed text or Go type names: the
values flowing through these functions are decrypted secrets.
"""

from __future__ import annotations

from gitsecure.seal.gotemplate.funcs_builtins import BUILTINS
from gitsecure.seal.gotemplate.funcs_collections import COLLECTIONS
from gitsecure.seal.gotemplate.funcs_defaults import DEFAULTS
from gitsecure.seal.gotemplate.funcs_encoding import ENCODING
from gitsecure.seal.gotemplate.funcs_math import NUMBERS
from gitsecure.seal.gotemplate.funcs_strings import STRINGS
from gitsecure.seal.gotemplate.values import Func

FUNCS: dict[str, Func] = {**BUILTINS, **ENCODING, **STRINGS, **NUMBERS, **DEFAULTS, **COLLECTIONS}

# Every other name the controller would accept (Go's call, the rest of Sprig's generic map):
# a template using one renders there, so refusing it here must say "unsupported", not "undefined".
UNSUPPORTED = frozenset(
    """call hello ago date date_in_zone date_modify dateInZone dateModify duration durationRound htmlDate
    htmlDateInZone must_date_modify mustDateModify mustToDate now toDate unixEpoch abbrev abbrevboth untitle substr
    trimall initials randAlphaNum randAlpha randAscii randNumeric swapcase shuffle snakecase camelcase kebabcase
    wrap wrapWith plural sha512sum adler32sum int64 float64 seq toDecimal splitn toStrings until untilStep add1
    randInt add1f addf subf divf mulf biggest max min maxf minf ceil floor round all any compact mustCompact
    mustFromJson mustToJson mustToPrettyJson mustToRawJson deepCopy mustDeepCopy typeOf typeIs typeIsLike kindOf
    kindIs deepEqual base dir clean ext isAbs osBase osClean osDir osExt osIsAbs tuple unset pluck pick omit merge
    mergeOverwrite mustMerge mustMergeOverwrite values append push mustAppend mustPush prepend mustPrepend first
    mustFirst rest mustRest last mustLast initial mustInitial reverse mustReverse uniq mustUniq without mustWithout
    has mustHas mustSlice concat dig chunk mustChunk bcrypt htpasswd genPrivateKey derivePassword buildCustomCert
    genCA genCAWithKey genSelfSignedCert genSelfSignedCertWithKey genSignedCert genSignedCertWithKey encryptAES
    decryptAES randBytes uuidv4 semver semverCompare regexMatch mustRegexMatch regexFindAll mustRegexFindAll
    regexFind mustRegexFind regexReplaceAll mustRegexReplaceAll regexReplaceAllLiteral mustRegexReplaceAllLiteral
    regexSplit mustRegexSplit regexQuoteMeta urlParse urlJoin""".split()  # noqa: SIM905 - a word list reads better
)
