//! Country names and codes as the lists write them ("Russian Federation",
//! "RU", "rus", "Iran (Islamic Republic of)") folded to ISO 3166-1 alpha-2,
//! so a nationality on a list can be compared with a document's country.

use super::normalize::fold_ascii;

/// alpha-2, alpha-3, English short name; `|` separates extra names.
const COUNTRIES: &str = "\
AF AFG Afghanistan;AL ALB Albania;DZ DZA Algeria;AD AND Andorra;AO AGO Angola;AG ATG Antigua and Barbuda;\
AR ARG Argentina;AM ARM Armenia;AU AUS Australia;AT AUT Austria;AZ AZE Azerbaijan;BS BHS Bahamas;BH BHR Bahrain;\
BD BGD Bangladesh;BB BRB Barbados;BY BLR Belarus;BE BEL Belgium;BZ BLZ Belize;BJ BEN Benin;BT BTN Bhutan;\
BO BOL Bolivia|Bolivia (Plurinational State of);BA BIH Bosnia and Herzegovina;BW BWA Botswana;BR BRA Brazil;\
BN BRN Brunei|Brunei Darussalam;BG BGR Bulgaria;BF BFA Burkina Faso;BI BDI Burundi;CV CPV Cabo Verde|Cape Verde;\
KH KHM Cambodia;CM CMR Cameroon;CA CAN Canada;CF CAF Central African Republic;TD TCD Chad;CL CHL Chile;CN CHN China;\
CO COL Colombia;KM COM Comoros;CG COG Congo|Republic of the Congo;CD COD Democratic Republic of the Congo|Congo, Democratic Republic of the|DRC;\
CR CRI Costa Rica;CI CIV Cote d'Ivoire|Ivory Coast;HR HRV Croatia;CU CUB Cuba;CY CYP Cyprus;CZ CZE Czechia|Czech Republic;\
DK DNK Denmark;DJ DJI Djibouti;DM DMA Dominica;DO DOM Dominican Republic;EC ECU Ecuador;EG EGY Egypt;SV SLV El Salvador;\
GQ GNQ Equatorial Guinea;ER ERI Eritrea;EE EST Estonia;SZ SWZ Eswatini|Swaziland;ET ETH Ethiopia;FJ FJI Fiji;FI FIN Finland;\
FR FRA France;GA GAB Gabon;GM GMB Gambia;GE GEO Georgia;DE DEU Germany;GH GHA Ghana;GR GRC Greece;GD GRD Grenada;\
GT GTM Guatemala;GN GIN Guinea;GW GNB Guinea-Bissau;GY GUY Guyana;HT HTI Haiti;HN HND Honduras;HK HKG Hong Kong;HU HUN Hungary;\
IS ISL Iceland;IN IND India;ID IDN Indonesia;IR IRN Iran|Iran (Islamic Republic of)|Islamic Republic of Iran;IQ IRQ Iraq;\
IE IRL Ireland;IL ISR Israel;IT ITA Italy;JM JAM Jamaica;JP JPN Japan;JO JOR Jordan;KZ KAZ Kazakhstan;KE KEN Kenya;\
KI KIR Kiribati;KP PRK North Korea|Democratic People's Republic of Korea|Korea, North|Korea, Democratic People's Republic of;\
KR KOR South Korea|Republic of Korea|Korea, South|Korea, Republic of;XK XKX Kosovo;KW KWT Kuwait;KG KGZ Kyrgyzstan;\
LA LAO Laos|Lao People's Democratic Republic;LV LVA Latvia;LB LBN Lebanon;LS LSO Lesotho;LR LBR Liberia;LY LBY Libya;\
LI LIE Liechtenstein;LT LTU Lithuania;LU LUX Luxembourg;MO MAC Macau|Macao;MG MDG Madagascar;MW MWI Malawi;MY MYS Malaysia;\
MV MDV Maldives;ML MLI Mali;MT MLT Malta;MH MHL Marshall Islands;MR MRT Mauritania;MU MUS Mauritius;MX MEX Mexico;\
FM FSM Micronesia;MD MDA Moldova|Republic of Moldova;MC MCO Monaco;MN MNG Mongolia;ME MNE Montenegro;MA MAR Morocco;\
MZ MOZ Mozambique;MM MMR Myanmar|Burma;NA NAM Namibia;NR NRU Nauru;NP NPL Nepal;NL NLD Netherlands;NZ NZL New Zealand;\
NI NIC Nicaragua;NE NER Niger;NG NGA Nigeria;MK MKD North Macedonia|Macedonia;NO NOR Norway;OM OMN Oman;PK PAK Pakistan;\
PW PLW Palau;PS PSE Palestine|State of Palestine|West Bank|Gaza;PA PAN Panama;PG PNG Papua New Guinea;PY PRY Paraguay;PE PER Peru;\
PH PHL Philippines;PL POL Poland;PT PRT Portugal;QA QAT Qatar;RO ROU Romania;RU RUS Russia|Russian Federation;RW RWA Rwanda;\
KN KNA Saint Kitts and Nevis;LC LCA Saint Lucia;VC VCT Saint Vincent and the Grenadines;WS WSM Samoa;SM SMR San Marino;\
ST STP Sao Tome and Principe;SA SAU Saudi Arabia;SN SEN Senegal;RS SRB Serbia;SC SYC Seychelles;SL SLE Sierra Leone;\
SG SGP Singapore;SK SVK Slovakia;SI SVN Slovenia;SB SLB Solomon Islands;SO SOM Somalia;ZA ZAF South Africa;SS SSD South Sudan;\
ES ESP Spain;LK LKA Sri Lanka;SD SDN Sudan;SR SUR Suriname;SE SWE Sweden;CH CHE Switzerland;SY SYR Syria|Syrian Arab Republic;\
TW TWN Taiwan;TJ TJK Tajikistan;TZ TZA Tanzania|United Republic of Tanzania;TH THA Thailand;TL TLS Timor-Leste|East Timor;\
TG TGO Togo;TO TON Tonga;TT TTO Trinidad and Tobago;TN TUN Tunisia;TR TUR Turkey|Turkiye;TM TKM Turkmenistan;TV TUV Tuvalu;\
UG UGA Uganda;UA UKR Ukraine;AE ARE United Arab Emirates|UAE;GB GBR United Kingdom|Great Britain|United Kingdom of Great Britain and Northern Ireland|UK;\
US USA United States|United States of America|USA;UY URY Uruguay;UZ UZB Uzbekistan;VU VUT Vanuatu;VA VAT Holy See|Vatican;\
VE VEN Venezuela|Venezuela (Bolivarian Republic of);VN VNM Viet Nam|Vietnam;YE YEM Yemen;ZM ZMB Zambia;ZW ZWE Zimbabwe";

fn key(s: &str) -> String {
    fold_ascii(s).chars().filter(|c| c.is_ascii_alphanumeric()).collect()
}

fn table() -> &'static std::collections::HashMap<String, &'static str> {
    static TABLE: std::sync::OnceLock<std::collections::HashMap<String, &'static str>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut m = std::collections::HashMap::new();
        for row in COUNTRIES.split(';') {
            let mut parts = row.splitn(3, ' ');
            let (Some(a2), Some(a3), Some(names)) = (parts.next(), parts.next(), parts.next()) else { continue };
            m.insert(key(a2), a2);
            m.insert(key(a3), a2);
            for n in names.split('|') {
                m.insert(key(n), a2);
            }
        }
        m
    })
}

/// The alpha-2 code of a country written any of the ways lists write it;
/// `None` when not recognised.
pub fn code(s: &str) -> Option<&'static str> {
    let k = key(s.trim());
    if k.is_empty() {
        return None;
    }
    table().get(&k).copied()
}

/// The alpha-2 code when recognised, else the text trimmed.
pub fn normalize(s: &str) -> String {
    code(s).map(str::to_string).unwrap_or_else(|| s.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes_fold_to_alpha_2() {
        assert_eq!(code("Russian Federation"), Some("RU"));
        assert_eq!(code("rus"), Some("RU"));
        assert_eq!(code("ru"), Some("RU"));
        assert_eq!(code("Iran (Islamic Republic of)"), Some("IR"));
        assert_eq!(code("Korea, Democratic People's Republic of"), Some("KP"));
        assert_eq!(code("Côte d'Ivoire"), Some("CI"));
        assert_eq!(code("Atlantis"), None);
        assert_eq!(normalize(" Atlantis "), "Atlantis");
    }
}
