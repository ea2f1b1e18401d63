"""Generated from the IANA time zone database (tzdata 2025b): ``zone.tab`` (the current zone
names, one or more per country, Antarctica left out), ``iso3166.tab`` (country names, a few
shortened) and the links of ``backward`` (obsolete names → the current one). Data only; what
the booking pages make of it is in ``scheduling.public_zones``."""

# "CC Country name: Zone Zone …", one country a line (indented lines continue it).
_COUNTRY_ZONES = """
AD Andorra: Europe/Andorra
AE United Arab Emirates: Asia/Dubai
AF Afghanistan: Asia/Kabul
AG Antigua & Barbuda: America/Antigua
AI Anguilla: America/Anguilla
AL Albania: Europe/Tirane
AM Armenia: Asia/Yerevan
AO Angola: Africa/Luanda
AR Argentina: America/Argentina/Buenos_Aires America/Argentina/Catamarca America/Argentina/Cordoba
    America/Argentina/Jujuy America/Argentina/La_Rioja America/Argentina/Mendoza
    America/Argentina/Rio_Gallegos America/Argentina/Salta America/Argentina/San_Juan
    America/Argentina/San_Luis America/Argentina/Tucuman America/Argentina/Ushuaia
AS Samoa (American): Pacific/Pago_Pago
AT Austria: Europe/Vienna
AU Australia: Australia/Adelaide Australia/Brisbane Australia/Broken_Hill Australia/Darwin
    Australia/Eucla Australia/Hobart Australia/Lindeman Australia/Lord_Howe Australia/Melbourne
    Australia/Perth Australia/Sydney
AW Aruba: America/Aruba
AX Åland Islands: Europe/Mariehamn
AZ Azerbaijan: Asia/Baku
BA Bosnia & Herzegovina: Europe/Sarajevo
BB Barbados: America/Barbados
BD Bangladesh: Asia/Dhaka
BE Belgium: Europe/Brussels
BF Burkina Faso: Africa/Ouagadougou
BG Bulgaria: Europe/Sofia
BH Bahrain: Asia/Bahrain
BI Burundi: Africa/Bujumbura
BJ Benin: Africa/Porto-Novo
BL St Barthelemy: America/St_Barthelemy
BM Bermuda: Atlantic/Bermuda
BN Brunei: Asia/Brunei
BO Bolivia: America/La_Paz
BQ Caribbean NL: America/Kralendijk
BR Brazil: America/Araguaina America/Bahia America/Belem America/Boa_Vista America/Campo_Grande
    America/Cuiaba America/Eirunepe America/Fortaleza America/Maceio America/Manaus
    America/Noronha America/Porto_Velho America/Recife America/Rio_Branco America/Santarem
    America/Sao_Paulo
BS Bahamas: America/Nassau
BT Bhutan: Asia/Thimphu
BW Botswana: Africa/Gaborone
BY Belarus: Europe/Minsk
BZ Belize: America/Belize
CA Canada: America/Atikokan America/Blanc-Sablon America/Cambridge_Bay America/Creston
    America/Dawson America/Dawson_Creek America/Edmonton America/Fort_Nelson America/Glace_Bay
    America/Goose_Bay America/Halifax America/Inuvik America/Iqaluit America/Moncton
    America/Rankin_Inlet America/Regina America/Resolute America/St_Johns America/Swift_Current
    America/Toronto America/Vancouver America/Whitehorse America/Winnipeg
CC Cocos (Keeling) Islands: Indian/Cocos
CD DR Congo: Africa/Kinshasa Africa/Lubumbashi
CF Central African Rep.: Africa/Bangui
CG Congo: Africa/Brazzaville
CH Switzerland: Europe/Zurich
CI Côte d'Ivoire: Africa/Abidjan
CK Cook Islands: Pacific/Rarotonga
CL Chile: America/Coyhaique America/Punta_Arenas America/Santiago Pacific/Easter
CM Cameroon: Africa/Douala
CN China: Asia/Shanghai Asia/Urumqi
CO Colombia: America/Bogota
CR Costa Rica: America/Costa_Rica
CU Cuba: America/Havana
CV Cape Verde: Atlantic/Cape_Verde
CW Curaçao: America/Curacao
CX Christmas Island: Indian/Christmas
CY Cyprus: Asia/Famagusta Asia/Nicosia
CZ Czechia: Europe/Prague
DE Germany: Europe/Berlin Europe/Busingen
DJ Djibouti: Africa/Djibouti
DK Denmark: Europe/Copenhagen
DM Dominica: America/Dominica
DO Dominican Republic: America/Santo_Domingo
DZ Algeria: Africa/Algiers
EC Ecuador: America/Guayaquil Pacific/Galapagos
EE Estonia: Europe/Tallinn
EG Egypt: Africa/Cairo
EH Western Sahara: Africa/El_Aaiun
ER Eritrea: Africa/Asmara
ES Spain: Africa/Ceuta Atlantic/Canary Europe/Madrid
ET Ethiopia: Africa/Addis_Ababa
FI Finland: Europe/Helsinki
FJ Fiji: Pacific/Fiji
FK Falkland Islands: Atlantic/Stanley
FM Micronesia: Pacific/Chuuk Pacific/Kosrae Pacific/Pohnpei
FO Faroe Islands: Atlantic/Faroe
FR France: Europe/Paris
GA Gabon: Africa/Libreville
GB United Kingdom: Europe/London
GD Grenada: America/Grenada
GE Georgia: Asia/Tbilisi
GF French Guiana: America/Cayenne
GG Guernsey: Europe/Guernsey
GH Ghana: Africa/Accra
GI Gibraltar: Europe/Gibraltar
GL Greenland: America/Danmarkshavn America/Nuuk America/Scoresbysund America/Thule
GM Gambia: Africa/Banjul
GN Guinea: Africa/Conakry
GP Guadeloupe: America/Guadeloupe
GQ Equatorial Guinea: Africa/Malabo
GR Greece: Europe/Athens
GS South Georgia & the South Sandwich Islands: Atlantic/South_Georgia
GT Guatemala: America/Guatemala
GU Guam: Pacific/Guam
GW Guinea-Bissau: Africa/Bissau
GY Guyana: America/Guyana
HK Hong Kong: Asia/Hong_Kong
HN Honduras: America/Tegucigalpa
HR Croatia: Europe/Zagreb
HT Haiti: America/Port-au-Prince
HU Hungary: Europe/Budapest
ID Indonesia: Asia/Jakarta Asia/Jayapura Asia/Makassar Asia/Pontianak
IE Ireland: Europe/Dublin
IL Israel: Asia/Jerusalem
IM Isle of Man: Europe/Isle_of_Man
IN India: Asia/Kolkata
IO British Indian Ocean Territory: Indian/Chagos
IQ Iraq: Asia/Baghdad
IR Iran: Asia/Tehran
IS Iceland: Atlantic/Reykjavik
IT Italy: Europe/Rome
JE Jersey: Europe/Jersey
JM Jamaica: America/Jamaica
JO Jordan: Asia/Amman
JP Japan: Asia/Tokyo
KE Kenya: Africa/Nairobi
KG Kyrgyzstan: Asia/Bishkek
KH Cambodia: Asia/Phnom_Penh
KI Kiribati: Pacific/Kanton Pacific/Kiritimati Pacific/Tarawa
KM Comoros: Indian/Comoro
KN St Kitts & Nevis: America/St_Kitts
KP North Korea: Asia/Pyongyang
KR South Korea: Asia/Seoul
KW Kuwait: Asia/Kuwait
KY Cayman Islands: America/Cayman
KZ Kazakhstan: Asia/Almaty Asia/Aqtau Asia/Aqtobe Asia/Atyrau Asia/Oral Asia/Qostanay
    Asia/Qyzylorda
LA Laos: Asia/Vientiane
LB Lebanon: Asia/Beirut
LC St Lucia: America/St_Lucia
LI Liechtenstein: Europe/Vaduz
LK Sri Lanka: Asia/Colombo
LR Liberia: Africa/Monrovia
LS Lesotho: Africa/Maseru
LT Lithuania: Europe/Vilnius
LU Luxembourg: Europe/Luxembourg
LV Latvia: Europe/Riga
LY Libya: Africa/Tripoli
MA Morocco: Africa/Casablanca
MC Monaco: Europe/Monaco
MD Moldova: Europe/Chisinau
ME Montenegro: Europe/Podgorica
MF Saint Martin (French part): America/Marigot
MG Madagascar: Indian/Antananarivo
MH Marshall Islands: Pacific/Kwajalein Pacific/Majuro
MK North Macedonia: Europe/Skopje
ML Mali: Africa/Bamako
MM Myanmar (Burma): Asia/Yangon
MN Mongolia: Asia/Hovd Asia/Ulaanbaatar
MO Macau: Asia/Macau
MP Northern Mariana Islands: Pacific/Saipan
MQ Martinique: America/Martinique
MR Mauritania: Africa/Nouakchott
MS Montserrat: America/Montserrat
MT Malta: Europe/Malta
MU Mauritius: Indian/Mauritius
MV Maldives: Indian/Maldives
MW Malawi: Africa/Blantyre
MX Mexico: America/Bahia_Banderas America/Cancun America/Chihuahua America/Ciudad_Juarez
    America/Hermosillo America/Matamoros America/Mazatlan America/Merida America/Mexico_City
    America/Monterrey America/Ojinaga America/Tijuana
MY Malaysia: Asia/Kuala_Lumpur Asia/Kuching
MZ Mozambique: Africa/Maputo
NA Namibia: Africa/Windhoek
NC New Caledonia: Pacific/Noumea
NE Niger: Africa/Niamey
NF Norfolk Island: Pacific/Norfolk
NG Nigeria: Africa/Lagos
NI Nicaragua: America/Managua
NL Netherlands: Europe/Amsterdam
NO Norway: Europe/Oslo
NP Nepal: Asia/Kathmandu
NR Nauru: Pacific/Nauru
NU Niue: Pacific/Niue
NZ New Zealand: Pacific/Auckland Pacific/Chatham
OM Oman: Asia/Muscat
PA Panama: America/Panama
PE Peru: America/Lima
PF French Polynesia: Pacific/Gambier Pacific/Marquesas Pacific/Tahiti
PG Papua New Guinea: Pacific/Bougainville Pacific/Port_Moresby
PH Philippines: Asia/Manila
PK Pakistan: Asia/Karachi
PL Poland: Europe/Warsaw
PM St Pierre & Miquelon: America/Miquelon
PN Pitcairn: Pacific/Pitcairn
PR Puerto Rico: America/Puerto_Rico
PS Palestine: Asia/Gaza Asia/Hebron
PT Portugal: Atlantic/Azores Atlantic/Madeira Europe/Lisbon
PW Palau: Pacific/Palau
PY Paraguay: America/Asuncion
QA Qatar: Asia/Qatar
RE Réunion: Indian/Reunion
RO Romania: Europe/Bucharest
RS Serbia: Europe/Belgrade
RU Russia: Asia/Anadyr Asia/Barnaul Asia/Chita Asia/Irkutsk Asia/Kamchatka Asia/Khandyga
    Asia/Krasnoyarsk Asia/Magadan Asia/Novokuznetsk Asia/Novosibirsk Asia/Omsk Asia/Sakhalin
    Asia/Srednekolymsk Asia/Tomsk Asia/Ust-Nera Asia/Vladivostok Asia/Yakutsk Asia/Yekaterinburg
    Europe/Astrakhan Europe/Kaliningrad Europe/Kirov Europe/Moscow Europe/Samara Europe/Saratov
    Europe/Ulyanovsk Europe/Volgograd
RW Rwanda: Africa/Kigali
SA Saudi Arabia: Asia/Riyadh
SB Solomon Islands: Pacific/Guadalcanal
SC Seychelles: Indian/Mahe
SD Sudan: Africa/Khartoum
SE Sweden: Europe/Stockholm
SG Singapore: Asia/Singapore
SH St Helena: Atlantic/St_Helena
SI Slovenia: Europe/Ljubljana
SJ Svalbard & Jan Mayen: Arctic/Longyearbyen
SK Slovakia: Europe/Bratislava
SL Sierra Leone: Africa/Freetown
SM San Marino: Europe/San_Marino
SN Senegal: Africa/Dakar
SO Somalia: Africa/Mogadishu
SR Suriname: America/Paramaribo
SS South Sudan: Africa/Juba
ST Sao Tome & Principe: Africa/Sao_Tome
SV El Salvador: America/El_Salvador
SX Sint Maarten (Dutch part): America/Lower_Princes
SY Syria: Asia/Damascus
SZ Eswatini (Swaziland): Africa/Mbabane
TC Turks & Caicos Is: America/Grand_Turk
TD Chad: Africa/Ndjamena
TF French S. Terr.: Indian/Kerguelen
TG Togo: Africa/Lome
TH Thailand: Asia/Bangkok
TJ Tajikistan: Asia/Dushanbe
TK Tokelau: Pacific/Fakaofo
TL East Timor: Asia/Dili
TM Turkmenistan: Asia/Ashgabat
TN Tunisia: Africa/Tunis
TO Tonga: Pacific/Tongatapu
TR Türkiye: Europe/Istanbul
TT Trinidad & Tobago: America/Port_of_Spain
TV Tuvalu: Pacific/Funafuti
TW Taiwan: Asia/Taipei
TZ Tanzania: Africa/Dar_es_Salaam
UA Ukraine: Europe/Kyiv Europe/Simferopol
UG Uganda: Africa/Kampala
UM US minor outlying islands: Pacific/Midway Pacific/Wake
US United States: America/Adak America/Anchorage America/Boise America/Chicago America/Denver
    America/Detroit America/Indiana/Indianapolis America/Indiana/Knox America/Indiana/Marengo
    America/Indiana/Petersburg America/Indiana/Tell_City America/Indiana/Vevay
    America/Indiana/Vincennes America/Indiana/Winamac America/Juneau America/Kentucky/Louisville
    America/Kentucky/Monticello America/Los_Angeles America/Menominee America/Metlakatla
    America/New_York America/Nome America/North_Dakota/Beulah America/North_Dakota/Center
    America/North_Dakota/New_Salem America/Phoenix America/Sitka America/Yakutat Pacific/Honolulu
UY Uruguay: America/Montevideo
UZ Uzbekistan: Asia/Samarkand Asia/Tashkent
VA Vatican City: Europe/Vatican
VC St Vincent: America/St_Vincent
VE Venezuela: America/Caracas
VG Virgin Islands (UK): America/Tortola
VI Virgin Islands (US): America/St_Thomas
VN Vietnam: Asia/Ho_Chi_Minh
VU Vanuatu: Pacific/Efate
WF Wallis & Futuna: Pacific/Wallis
WS Samoa (western): Pacific/Apia
YE Yemen: Asia/Aden
YT Mayotte: Indian/Mayotte
ZA South Africa: Africa/Johannesburg
ZM Zambia: Africa/Lusaka
ZW Zimbabwe: Africa/Harare
"""

# "obsolete>current" pairs.
_ALIASES = """
Africa/Asmera>Africa/Nairobi Africa/Timbuktu>Africa/Abidjan
America/Argentina/ComodRivadavia>America/Argentina/Catamarca America/Atka>America/Adak
America/Buenos_Aires>America/Argentina/Buenos_Aires America/Catamarca>America/Argentina/Catamarca
America/Coral_Harbour>America/Panama America/Cordoba>America/Argentina/Cordoba
America/Ensenada>America/Tijuana America/Fort_Wayne>America/Indiana/Indianapolis
America/Godthab>America/Nuuk America/Indianapolis>America/Indiana/Indianapolis
America/Jujuy>America/Argentina/Jujuy America/Knox_IN>America/Indiana/Knox
America/Louisville>America/Kentucky/Louisville America/Mendoza>America/Argentina/Mendoza
America/Montreal>America/Toronto America/Nipigon>America/Toronto
America/Pangnirtung>America/Iqaluit America/Porto_Acre>America/Rio_Branco
America/Rainy_River>America/Winnipeg America/Rosario>America/Argentina/Cordoba
America/Santa_Isabel>America/Tijuana America/Shiprock>America/Denver
America/Thunder_Bay>America/Toronto America/Virgin>America/Puerto_Rico
America/Yellowknife>America/Edmonton Antarctica/South_Pole>Pacific/Auckland
Asia/Ashkhabad>Asia/Ashgabat Asia/Calcutta>Asia/Kolkata Asia/Choibalsan>Asia/Ulaanbaatar
Asia/Chongqing>Asia/Shanghai Asia/Chungking>Asia/Shanghai Asia/Dacca>Asia/Dhaka
Asia/Harbin>Asia/Shanghai Asia/Istanbul>Europe/Istanbul Asia/Kashgar>Asia/Urumqi
Asia/Katmandu>Asia/Kathmandu Asia/Macao>Asia/Macau Asia/Rangoon>Asia/Yangon
Asia/Saigon>Asia/Ho_Chi_Minh Asia/Tel_Aviv>Asia/Jerusalem Asia/Thimbu>Asia/Thimphu
Asia/Ujung_Pandang>Asia/Makassar Asia/Ulan_Bator>Asia/Ulaanbaatar Atlantic/Faeroe>Atlantic/Faroe
Atlantic/Jan_Mayen>Europe/Berlin Australia/ACT>Australia/Sydney
Australia/Canberra>Australia/Sydney Australia/Currie>Australia/Hobart
Australia/LHI>Australia/Lord_Howe Australia/NSW>Australia/Sydney Australia/North>Australia/Darwin
Australia/Queensland>Australia/Brisbane Australia/South>Australia/Adelaide
Australia/Tasmania>Australia/Hobart Australia/Victoria>Australia/Melbourne
Australia/West>Australia/Perth Australia/Yancowinna>Australia/Broken_Hill
Brazil/Acre>America/Rio_Branco Brazil/DeNoronha>America/Noronha Brazil/East>America/Sao_Paulo
Brazil/West>America/Manaus Canada/Atlantic>America/Halifax Canada/Central>America/Winnipeg
Canada/Eastern>America/Toronto Canada/Mountain>America/Edmonton
Canada/Newfoundland>America/St_Johns Canada/Pacific>America/Vancouver
Canada/Saskatchewan>America/Regina Canada/Yukon>America/Whitehorse
Chile/Continental>America/Santiago Chile/EasterIsland>Pacific/Easter Cuba>America/Havana
Egypt>Africa/Cairo Eire>Europe/Dublin Etc/GMT>UTC Etc/GMT+0>UTC Etc/GMT-0>UTC Etc/GMT0>UTC
Etc/Greenwich>UTC Etc/UCT>UTC Etc/UTC>UTC Etc/Universal>UTC Etc/Zulu>UTC
Europe/Belfast>Europe/London Europe/Kiev>Europe/Kyiv Europe/Nicosia>Asia/Nicosia
Europe/Tiraspol>Europe/Chisinau Europe/Uzhgorod>Europe/Kyiv Europe/Zaporozhye>Europe/Kyiv
GB>Europe/London GB-Eire>Europe/London GMT>UTC GMT+0>UTC GMT-0>UTC GMT0>UTC Greenwich>UTC
Hongkong>Asia/Hong_Kong Iceland>Africa/Abidjan Iran>Asia/Tehran Israel>Asia/Jerusalem
Jamaica>America/Jamaica Japan>Asia/Tokyo Kwajalein>Pacific/Kwajalein Libya>Africa/Tripoli
Mexico/BajaNorte>America/Tijuana Mexico/BajaSur>America/Mazatlan
Mexico/General>America/Mexico_City NZ>Pacific/Auckland NZ-CHAT>Pacific/Chatham
Navajo>America/Denver PRC>Asia/Shanghai Pacific/Enderbury>Pacific/Kanton
Pacific/Johnston>Pacific/Honolulu Pacific/Ponape>Pacific/Guadalcanal
Pacific/Samoa>Pacific/Pago_Pago Pacific/Truk>Pacific/Port_Moresby Pacific/Yap>Pacific/Port_Moresby
Poland>Europe/Warsaw Portugal>Europe/Lisbon ROC>Asia/Taipei ROK>Asia/Seoul
Singapore>Asia/Singapore Turkey>Europe/Istanbul UCT>UTC US/Alaska>America/Anchorage
US/Aleutian>America/Adak US/Arizona>America/Phoenix US/Central>America/Chicago
US/East-Indiana>America/Indiana/Indianapolis US/Eastern>America/New_York
US/Hawaii>Pacific/Honolulu US/Indiana-Starke>America/Indiana/Knox US/Michigan>America/Detroit
US/Mountain>America/Denver US/Pacific>America/Los_Angeles US/Samoa>Pacific/Pago_Pago Universal>UTC
W-SU>Europe/Moscow Zulu>UTC
"""


def _read_countries() -> tuple[tuple[tuple[str, str], ...], dict[str, str]]:
    zones: list[tuple[str, str]] = []
    names: dict[str, str] = {}
    code = ""
    for line in _COUNTRY_ZONES.strip().splitlines():
        if not line.startswith(" "):
            head, line = line.split(": ", 1)
            code, names[code] = head.split(" ", 1)
        zones.extend((zone, code) for zone in line.split())
    return tuple(sorted(zones)), names


# (zone, ISO country code), by zone; ISO country code → country name
ZONES, COUNTRIES = _read_countries()
# An obsolete or alternative name → the current zone it stands for.
ALIASES: dict[str, str] = dict(pair.split(">") for pair in _ALIASES.split())
