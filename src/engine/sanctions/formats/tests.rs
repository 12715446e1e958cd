//! Each parser on a small file written in its official format.

use super::*;

pub(crate) const UN_XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<CONSOLIDATED_LIST xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" dateGenerated="2026-11-30T00:00:00.000Z">
  <INDIVIDUALS>
    <INDIVIDUAL>
      <DATAID>6908555</DATAID>
      <VERSIONNUM>1</VERSIONNUM>
      <FIRST_NAME>AIMAN</FIRST_NAME>
      <SECOND_NAME>MUHAMMED</SECOND_NAME>
      <THIRD_NAME>RABI</THIRD_NAME>
      <FOURTH_NAME>AL-ZAWAHIRI</FOURTH_NAME>
      <UN_LIST_TYPE>Al-Qaida</UN_LIST_TYPE>
      <REFERENCE_NUMBER>QDi.006</REFERENCE_NUMBER>
      <LISTED_ON>2001-01-25</LISTED_ON>
      <GENDER>Male</GENDER>
      <NAME_ORIGINAL_SCRIPT>أيمن محمد ربيع الظواهري</NAME_ORIGINAL_SCRIPT>
      <COMMENTS1>Leader of Al-Qaida &amp; associates.</COMMENTS1>
      <DESIGNATION><VALUE>Operational and Military Leader</VALUE></DESIGNATION>
      <NATIONALITY><VALUE>Egypt</VALUE></NATIONALITY>
      <LIST_TYPE><VALUE>UN List</VALUE></LIST_TYPE>
      <INDIVIDUAL_ALIAS><QUALITY>Good</QUALITY><ALIAS_NAME>Ayman al-Zawahari</ALIAS_NAME></INDIVIDUAL_ALIAS>
      <INDIVIDUAL_ALIAS><QUALITY>Low</QUALITY><ALIAS_NAME>Abu Fatima</ALIAS_NAME></INDIVIDUAL_ALIAS>
      <INDIVIDUAL_ADDRESS><COUNTRY>Afghanistan/Pakistan border</COUNTRY></INDIVIDUAL_ADDRESS>
      <INDIVIDUAL_DATE_OF_BIRTH><TYPE_OF_DATE>EXACT</TYPE_OF_DATE><DATE>1951-06-19</DATE></INDIVIDUAL_DATE_OF_BIRTH>
      <INDIVIDUAL_PLACE_OF_BIRTH><CITY>Giza</CITY><COUNTRY>Egypt</COUNTRY></INDIVIDUAL_PLACE_OF_BIRTH>
      <INDIVIDUAL_DOCUMENT><TYPE_OF_DOCUMENT>Passport</TYPE_OF_DOCUMENT><NUMBER>1084010</NUMBER><ISSUING_COUNTRY>Egypt</ISSUING_COUNTRY></INDIVIDUAL_DOCUMENT>
      <SORT_KEY/><SORT_KEY_LAST_MOD/>
    </INDIVIDUAL>
    <INDIVIDUAL>
      <DATAID>110</DATAID>
      <FIRST_NAME>ABDUL</FIRST_NAME>
      <SECOND_NAME>RAHMAN</SECOND_NAME>
      <UN_LIST_TYPE>Taliban</UN_LIST_TYPE>
      <REFERENCE_NUMBER>TAi.001</REFERENCE_NUMBER>
      <LISTED_ON>2001-02-23</LISTED_ON>
      <INDIVIDUAL_DATE_OF_BIRTH><TYPE_OF_DATE>BETWEEN</TYPE_OF_DATE><FROM_YEAR>1962</FROM_YEAR><TO_YEAR>1964</TO_YEAR></INDIVIDUAL_DATE_OF_BIRTH>
      <INDIVIDUAL_DATE_OF_BIRTH><TYPE_OF_DATE>APPROXIMATELY</TYPE_OF_DATE><YEAR>1965</YEAR></INDIVIDUAL_DATE_OF_BIRTH>
    </INDIVIDUAL>
  </INDIVIDUALS>
  <ENTITIES>
    <ENTITY>
      <DATAID>6908440</DATAID>
      <FIRST_NAME>AL RASHID TRUST</FIRST_NAME>
      <UN_LIST_TYPE>Al-Qaida</UN_LIST_TYPE>
      <REFERENCE_NUMBER>QDe.005</REFERENCE_NUMBER>
      <LISTED_ON>2001-10-06</LISTED_ON>
      <ENTITY_ALIAS><QUALITY>a.k.a.</QUALITY><ALIAS_NAME>Al-Rasheed Trust</ALIAS_NAME></ENTITY_ALIAS>
      <ENTITY_ADDRESS><STREET>Kitab Ghar</STREET><CITY>Karachi</CITY><COUNTRY>Pakistan</COUNTRY></ENTITY_ADDRESS>
    </ENTITY>
  </ENTITIES>
</CONSOLIDATED_LIST>"#;

pub(crate) const EU_XML: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<export generationDate="2026-11-30T18:00:00.000+01:00" globalFileId="171234" xmlns="http://eu.europa.ec/fpi/fsd/export">
  <sanctionEntity designationDetails="" unitedNationId="" euReferenceNumber="EU.2755.2" logicalId="13">
    <regulation regulationType="regulation" organisationType="council" publicationDate="2014-03-17" entryIntoForceDate="2014-03-17" numberTitle="269/2014 (OJ L78)" programme="UKR" logicalId="2755">
      <publicationUrl>http://eur-lex.europa.eu/legal-content/EN/TXT/?uri=OJ:L:2014:078:FULL</publicationUrl>
    </regulation>
    <subjectType code="person" classificationCode="P"/>
    <nameAlias firstName="Vladimir" middleName="Vladimirovich" lastName="Putin" wholeName="Vladimir Vladimirovich Putin" function="President of the Russian Federation" gender="M" title="" nameLanguage="" strong="true" regulationLanguage="en" logicalId="140"/>
    <nameAlias firstName="" middleName="" lastName="" wholeName="Владимир Владимирович Путин" function="" gender="M" title="" nameLanguage="RU" strong="true" regulationLanguage="en" logicalId="141"/>
    <citizenship region="" countryIso2Code="RU" countryDescription="RUSSIAN FEDERATION" regulationLanguage="en" logicalId="142"/>
    <birthdate circa="false" calendarType="GREGORIAN" city="Leningrad" zipCode="" birthdate="1952-10-07" dayOfMonth="7" monthOfYear="10" year="1952" region="" place="" countryIso2Code="RU" countryDescription="RUSSIAN FEDERATION" regulationLanguage="en" logicalId="143"/>
    <identification diplomatic="false" knownExpired="false" knownFalse="false" reportedLost="false" revokedByIssuer="false" issuedBy="" latinNumber="" nameOnDocument="" number="100000001" region="" countryIso2Code="RU" countryDescription="RUSSIAN FEDERATION" identificationTypeCode="passport" identificationTypeDescription="National passport" regulationLanguage="en" logicalId="144"/>
  </sanctionEntity>
  <sanctionEntity designationDetails="" unitedNationId="" euReferenceNumber="EU.8.49" logicalId="5000">
    <regulation regulationType="amendment" organisationType="council" publicationDate="2022-04-08" entryIntoForceDate="2022-04-09" numberTitle="2022/580" programme="RUS" logicalId="7000"/>
    <subjectType code="enterprise" classificationCode="E"/>
    <nameAlias firstName="" middleName="" lastName="" wholeName="Sovcomflot PJSC" function="" gender="" title="" nameLanguage="" strong="true" regulationLanguage="en" logicalId="5001"/>
    <address city="Moscow" street="Gasheka Street 6" poBox="" zipCode="125047" region="" place="" asAtListingTime="false" countryIso2Code="RU" countryDescription="RUSSIAN FEDERATION" regulationLanguage="en" logicalId="5002"/>
  </sanctionEntity>
  <sanctionEntity euReferenceNumber="EU.9.1" logicalId="6000">
    <subjectType code="person" classificationCode="P"/>
    <nameAlias wholeName="Omar Haddad" gender="" strong="true"/>
    <birthdate circa="true" birthdate="" year="1970" countryIso2Code="00"/>
  </sanctionEntity>
</export>"#;

pub(crate) const UK_CSV: &str = "Report Date: 30-Nov-2026\r\n\
Last Updated,Unique ID,OFSI Group ID,UN Reference Number,Name 6,Name 1,Name 2,Name 3,Name 4,Name 5,Name type,Alias strength,Title,Name non-latin script,Non-latin script type,Non-latin script language,Regime Name,Designation Type,Designation source,Sanctions Imposed,Other Information,UK Statement of Reasons,Address Line 1,Address Line 2,Address Line 3,Address Line 4,Address Line 5,Address Line 6,Address Postal Code,Address Country,Phone number,Website,Email address,Date Designated,D.O.B,Nationality(/ies),National Identifier number,National Identifier additional information,Passport number,Passport additional information,Position,Gender,Town of birth,Country of birth\r\n\
30/11/2026,RUS0001,14069,,PUTIN,Vladimir,Vladimirovich,,,,Primary Name,,President,,,,Russia,Individual,UK,Asset freeze,,,,,,,,,,,,,,26/02/2022,07/10/1952,Russia,,,100000001,,President of the Russian Federation,Male,St Petersburg,Russia\r\n\
30/11/2026,RUS0001,14069,,POUTINE,Wladimir,,,,,Alias,Good,,,,,Russia,Individual,UK,Asset freeze,,,,,,,,,,,,,,26/02/2022,07/10/1952,Russia,,,,,,Male,,\r\n\
30/11/2026,CYB0010,15000,,\"GRU, UNIT 26165\",,,,,,Primary Name,,,,,,Cyber,Entity,UK,Asset freeze,\"Also \"\"APT28\"\"\",,Komsomolskiy Prospekt 20,,,,,,,Russia,,,,04/10/2018,,,,,,,,,,\r\n\
30/11/2026,AQD0001,6969,QDi.001,HADDAD,Omar,,,,,Primary Name,,,,,,ISIL (Da'esh) and Al-Qaida,Individual,UN,Asset freeze,,,,,,,,,,,,,,01/01/2003,00/00/1970,Syria,,,,,,,,\r\n";

/// OFSI's consolidated list as published (`2022format/ConList.xml`): one
/// flat `FinancialSanctionsTarget` per name, `Name6` but `name1`..`name5`,
/// `Individual_*` fields, `xsi:nil` for empty ones, numbered multiple
/// values, `GroupID` tying the names of one target together. Element names
/// checked against public parsers of the real file (docs/engines/screening.md).
pub(crate) const OFSI_XML: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<ArrayOfFinancialSanctionsTarget xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.hmtreasury.gov.uk/ofsi/consolidatedlist">
  <FinancialSanctionsTarget>
    <Name6>PUTIN</Name6>
    <name1>Vladimir</name1>
    <name2>Vladimirovich</name2>
    <name3 xsi:nil="true" />
    <name4 xsi:nil="true" />
    <name5 xsi:nil="true" />
    <Title>President of the Russian Federation</Title>
    <NameNonLatinScript>Владимир Владимирович ПУТИН</NameNonLatinScript>
    <NonLatinScriptType>Cyrillic</NonLatinScriptType>
    <NonLatinScriptLanguage>Russian</NonLatinScriptLanguage>
    <Individual_DateOfBirth>07/10/1952</Individual_DateOfBirth>
    <Individual_TownOfBirth>Leningrad</Individual_TownOfBirth>
    <Individual_CountryOfBirth>Russia</Individual_CountryOfBirth>
    <Individual_Nationality>Russia</Individual_Nationality>
    <Individual_PassportNumber>(1) 100000001 (2) 100000002</Individual_PassportNumber>
    <Individual_PassportDetails>(1) Russian passport (2) Diplomatic passport</Individual_PassportDetails>
    <Individual_NINumber xsi:nil="true" />
    <Individual_Position>President</Individual_Position>
    <Individual_Gender>Male</Individual_Gender>
    <Address1>The Kremlin</Address1>
    <Address6>Moscow</Address6>
    <PostCode>103132</PostCode>
    <Country>Russia</Country>
    <OtherInformation>(UK Sanctions List Ref):RUS0251 (UK Statement of Reasons):President of the Russian Federation.</OtherInformation>
    <GroupTypeDescription>Individual</GroupTypeDescription>
    <AliasType>Primary name</AliasType>
    <AliasQuality xsi:nil="true" />
    <RegimeName>Russia</RegimeName>
    <ListingType>UK</ListingType>
    <UKSanctionsListRef>RUS0251</UKSanctionsListRef>
    <DateListed>2022-02-25T00:00:00</DateListed>
    <DateDesignated>2022-02-25T00:00:00</DateDesignated>
    <LastUpdated>2022-03-01T00:00:00</LastUpdated>
    <GroupStatus>Asset Freeze Targets</GroupStatus>
    <GroupID>14196</GroupID>
  </FinancialSanctionsTarget>
  <FinancialSanctionsTarget>
    <Name6>POUTINE</Name6>
    <name1>Wladimir</name1>
    <name2 xsi:nil="true" />
    <Individual_DateOfBirth>07/10/1952</Individual_DateOfBirth>
    <Individual_Nationality>Russia</Individual_Nationality>
    <GroupTypeDescription>Individual</GroupTypeDescription>
    <AliasType>AKA</AliasType>
    <AliasQuality>Good quality</AliasQuality>
    <RegimeName>Russia</RegimeName>
    <UKSanctionsListRef>RUS0251</UKSanctionsListRef>
    <DateListed>2022-02-25T00:00:00</DateListed>
    <GroupID>14196</GroupID>
  </FinancialSanctionsTarget>
  <FinancialSanctionsTarget>
    <Name6>HADDAD</Name6>
    <name1>Omar</name1>
    <name2>Khalil</name2>
    <Individual_DateOfBirth>00/00/1970</Individual_DateOfBirth>
    <Individual_Nationality>(1) Syria (2) Lebanon</Individual_Nationality>
    <Individual_NINumber>(1) 12345 (2) 67890</Individual_NINumber>
    <Country>Syria</Country>
    <GroupTypeDescription>Individual</GroupTypeDescription>
    <AliasType>Primary name</AliasType>
    <RegimeName>ISIL (Da'esh) and Al-Qaida</RegimeName>
    <DateListed>2003-01-01T00:00:00</DateListed>
    <GroupID>6969</GroupID>
  </FinancialSanctionsTarget>
</ArrayOfFinancialSanctionsTarget>"#;

/// The FCDO's UK Sanctions List XML as published (`UK-Sanctions-List.xml`):
/// a `Designation` per designated person, entity or ship, with nested
/// `Names/Name`, `NonLatinNames`, `Addresses` and `IndividualDetails`,
/// dates dd/mm/yyyy and `dd`/`mm` for an unknown day or month. Element
/// names checked against public parsers of the real file
/// (docs/engines/screening.md).
pub(crate) const FCDO_XML: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<Designations xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <DateGenerated>30/11/2026</DateGenerated>
  <Designation>
    <LastUpdated>01/03/2022</LastUpdated>
    <DateDesignated>25/02/2022</DateDesignated>
    <UniqueID>RUS0251</UniqueID>
    <OFSIGroupID>14196</OFSIGroupID>
    <UNReferenceNumber />
    <Names>
      <Name><Name1>Vladimir</Name1><Name2>Vladimirovich</Name2><Name6>PUTIN</Name6><NameType>Primary Name</NameType></Name>
      <Name><Name1>Wladimir</Name1><Name6>POUTINE</Name6><NameType>Alias</NameType><AliasStrength>Good quality a.k.a</AliasStrength></Name>
    </Names>
    <NonLatinNames>
      <NonLatinName><NameNonLatinScript>Владимир Владимирович ПУТИН</NameNonLatinScript><NonLatinScriptType>Cyrillic</NonLatinScriptType><NonLatinScriptLanguage>Russian</NonLatinScriptLanguage></NonLatinName>
    </NonLatinNames>
    <Titles><Title>President of the Russian Federation</Title></Titles>
    <RegimeName>The Russia (Sanctions) (EU Exit) Regulations 2019</RegimeName>
    <IndividualEntityShip>Individual</IndividualEntityShip>
    <DesignationSource>UK</DesignationSource>
    <SanctionsImposed>Asset freeze|Travel Ban|Director disqualification sanction</SanctionsImposed>
    <OtherInformation>President of the Russian Federation.</OtherInformation>
    <UKStatementofReasons>Responsible for actions destabilising Ukraine.</UKStatementofReasons>
    <Addresses>
      <Address><AddressLine1>The Kremlin</AddressLine1><AddressLine6>Moscow</AddressLine6><AddressPostalCode>103132</AddressPostalCode><AddressCountry>Russia</AddressCountry></Address>
    </Addresses>
    <PhoneNumbers />
    <EmailAddresses />
    <IndividualDetails>
      <Individual>
        <DOBs><DOB>07/10/1952</DOB></DOBs>
        <PassportDetails>
          <Passport><PassportNumber>100000001</PassportNumber><PassportAdditionalInformation>Russian passport</PassportAdditionalInformation></Passport>
        </PassportDetails>
        <NationalIdentifierDetails>
          <NationalIdentifier><NationalIdentifierNumber>7700-123456</NationalIdentifierNumber><NationalIdentifierAdditionalInformation>Internal passport</NationalIdentifierAdditionalInformation></NationalIdentifier>
        </NationalIdentifierDetails>
        <Nationalities><Nationality>Russia</Nationality></Nationalities>
        <Positions><Position>President of the Russian Federation</Position></Positions>
        <Genders><Gender>Male</Gender></Genders>
        <BirthDetails><Location><TownOfBirth>Leningrad</TownOfBirth><CountryOfBirth>Russia</CountryOfBirth></Location></BirthDetails>
      </Individual>
    </IndividualDetails>
  </Designation>
  <Designation>
    <LastUpdated>16/04/2026</LastUpdated>
    <DateDesignated>23/02/2001</DateDesignated>
    <UniqueID>AFG0123</UniqueID>
    <UNReferenceNumber>TAi.999</UNReferenceNumber>
    <Names>
      <Name><Name1>ABDUL</Name1><Name2>RAHIM</Name2><Name6>ZARGHUNI</Name6><NameType>Primary name</NameType></Name>
      <Name><Name6>Mullah Zarghuni</Name6><NameType>ALias</NameType></Name>
    </Names>
    <NonLatinNames><NonLatinName><NameNonLatinScript>عبد الرحيم زرغوني</NameNonLatinScript></NonLatinName></NonLatinNames>
    <RegimeName>The Afghanistan (Sanctions) (EU Exit) Regulations 2020</RegimeName>
    <IndividualEntityShip>Individual</IndividualEntityShip>
    <DesignationSource>UN</DesignationSource>
    <IndividualDetails>
      <Individual>
        <DOBs><DOB>dd/mm/1961</DOB><DOB>dd/05/1963</DOB></DOBs>
        <Nationalities><Nationality>Afghanistan</Nationality></Nationalities>
      </Individual>
    </IndividualDetails>
  </Designation>
  <Designation>
    <DateDesignated>01/03/2022</DateDesignated>
    <UniqueID>RUS9999</UniqueID>
    <Names>
      <Name><Name6>PJSC EXAMPLE OIL COMPANY</Name6><NameType>Primary Name</NameType></Name>
      <Name><Name6>EXAMPLENEFT</Name6><NameType>Primary Name Variation</NameType></Name>
    </Names>
    <RegimeName>The Russia (Sanctions) (EU Exit) Regulations 2019</RegimeName>
    <IndividualEntityShip>Entity</IndividualEntityShip>
    <Addresses><Address><AddressLine1>26/1 Example Embankment</AddressLine1><AddressCountry>Russia</AddressCountry></Address></Addresses>
  </Designation>
</Designations>"#;

pub(crate) const OS_CSV: &str = "id,schema,name,aliases,birth_date,countries,addresses,identifiers,sanctions,phones,emails,program_ids,dataset,first_seen,last_seen,last_change\n\
NK-aaa,Person,Vladimir Putin,\"Wladimir Poutine;Владимир Путин\",1952-10-07,ru,,100000001,\"EU Council - 269/2014 (2022-02-25); US OFAC - RUSSIA-EO14024\",,,EU-UKR;RUSSIA-EO14024,\"EU Financial Sanctions Files (FSF);US OFAC Specially Designated Nationals (SDN) List\",2022-02-25T00:00:00,2026-11-30T00:00:00,2026-11-01T00:00:00\n\
Q1234,Person,Olaf Scholz,,1958-06-14,de,,,,,,,\"Every Politician;Wikidata Politically Exposed Persons\",2021-12-08T00:00:00,2026-11-30T00:00:00,2025-05-06T00:00:00\n\
NK-ship,Vessel,SEA STAR,,,pa,,IMO9123456,US OFAC - IRAN,,,,US OFAC,2020-01-01T00:00:00,2026-11-30T00:00:00,2020-01-01T00:00:00\n";

pub(crate) const FTM_JSON: &str = r#"{"id": "NK-aaa", "schema": "Person", "caption": "Vladimir Putin", "target": true, "datasets": ["eu_fsf", "us_ofac_sdn"], "properties": {"name": ["Vladimir Vladimirovich Putin"], "alias": ["Wladimir Poutine"], "birthDate": ["1952-10-07"], "nationality": ["ru"], "gender": ["male"], "passportNumber": ["100000001"], "topics": ["sanction", "role.pep"], "position": ["President of Russia"]}}
{"id": "NK-sanc1", "schema": "Sanction", "target": false, "datasets": ["eu_fsf"], "properties": {"entity": ["NK-aaa"], "program": ["EU-UKR"], "authority": ["Council of the European Union"], "listingDate": ["2022-02-25"], "sourceUrl": ["https://eur-lex.europa.eu/eli/reg_impl/2022/336/oj"]}}
{"id": "Q1234", "schema": "Person", "caption": "Olaf Scholz", "target": true, "datasets": ["wd_peps"], "properties": {"name": ["Olaf Scholz"], "birthDate": ["1958-06-14"], "citizenship": ["de"], "gender": ["male"], "topics": ["role.pep"], "position": ["Chancellor of Germany (2021-2025)"]}}
{"id": "addr-1", "schema": "Address", "properties": {"full": ["Berlin"]}}
{"id": "Q9", "schema": "Person", "target": false, "properties": {"name": ["A Relative"]}}
"#;

fn by_id<'a>(e: &'a [SanctionsEntry], id: &str) -> &'a SanctionsEntry {
    e.iter().find(|x| x.ent_num == id).unwrap_or_else(|| panic!("no entry {id} in {e:#?}"))
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn detects_each_format_from_its_content() {
    assert_eq!(detect("consolidated.xml", UN_XML.as_bytes()), Some(ListFormat::UnXml));
    assert_eq!(detect("x.xml", EU_XML.as_bytes()), Some(ListFormat::EuXml));
    assert_eq!(detect("UK.csv", UK_CSV.as_bytes()), Some(ListFormat::UkCsv));
    assert_eq!(detect("ConList.xml", OFSI_XML.as_bytes()), Some(ListFormat::UkXml));
    assert_eq!(detect("UK.xml", FCDO_XML.as_bytes()), Some(ListFormat::UkXml));
    assert_eq!(detect("targets.simple.csv", OS_CSV.as_bytes()), Some(ListFormat::OpenSanctionsCsv));
    assert_eq!(detect("entities.ftm.json", FTM_JSON.as_bytes()), Some(ListFormat::FtmJson));
    assert_eq!(detect("sdn.csv", b"10,\"PUTIN, Vladimir\",\"individual\""), Some(ListFormat::OfacCsv));
    assert_eq!(detect("notes.txt", b"hello"), None);
    assert_eq!(detect("other.xml", b"<html></html>"), None);
}

#[test]
fn un_consolidated_xml() {
    let e = parse(ListFormat::UnXml, UN_XML.as_bytes()).unwrap();
    assert_eq!(e.len(), 3);
    let z = by_id(&e, "6908555");
    assert_eq!(z.name, "AIMAN MUHAMMED RABI AL-ZAWAHIRI");
    assert_eq!(z.kind, EntryKind::Individual);
    assert_eq!(z.programs, ["Al-Qaida"]);
    assert_eq!(z.aliases.len(), 3, "{:?}", z.aliases);
    assert_eq!(z.birth_dates, [BirthDate::Exact { date: date(1951, 6, 19) }]);
    assert_eq!(z.details.countries, ["EG", "Afghanistan/Pakistan border"]);
    assert_eq!(z.details.gender.as_deref(), Some("male"));
    assert_eq!(z.details.identifiers, ["1084010"]);
    assert_eq!(z.details.listed_on, Some(date(2001, 1, 25)));
    assert!(z.remarks.as_deref().unwrap().contains("QDi.006") && z.remarks.as_deref().unwrap().contains("Al-Qaida & associates"));
    let r = by_id(&e, "110");
    assert_eq!(r.birth_dates, [BirthDate::Range { from: 1962, to: 1964 }, BirthDate::Year { year: 1965, circa: true }]);
    let t = by_id(&e, "6908440");
    assert_eq!((t.kind, t.aliases.as_slice()), (EntryKind::Entity, ["Al-Rasheed Trust".to_string()].as_slice()));
    assert_eq!(t.addresses, ["Kitab Ghar Karachi Pakistan"]);
}

#[test]
fn eu_financial_sanctions_xml() {
    let e = parse(ListFormat::EuXml, EU_XML.as_bytes()).unwrap();
    assert_eq!(e.len(), 3);
    let p = by_id(&e, "13");
    assert_eq!(p.name, "Vladimir Vladimirovich Putin");
    assert_eq!(p.aliases, ["Владимир Владимирович Путин"]);
    assert_eq!(p.kind, EntryKind::Individual);
    assert_eq!(p.programs, ["UKR"]);
    assert_eq!(p.birth_dates, [BirthDate::Exact { date: date(1952, 10, 7) }]);
    assert_eq!(p.details.countries, ["RU"]);
    assert_eq!(p.details.identifiers, ["100000001"]);
    assert_eq!(p.details.listed_on, Some(date(2014, 3, 17)));
    assert!(p.details.source_url.as_deref().unwrap().starts_with("http://eur-lex.europa.eu/"));
    let s = by_id(&e, "5000");
    assert_eq!((s.kind, s.details.countries.as_slice()), (EntryKind::Entity, ["RU".to_string()].as_slice()));
    assert_eq!(by_id(&e, "6000").birth_dates, [BirthDate::Year { year: 1970, circa: true }]);
}

#[test]
fn uk_sanctions_list_csv_groups_names_of_one_designation() {
    let e = parse(ListFormat::UkCsv, UK_CSV.as_bytes()).unwrap();
    assert_eq!(e.len(), 3, "{e:#?}");
    let p = by_id(&e, "RUS0001");
    assert_eq!(p.name, "Vladimir Vladimirovich PUTIN");
    assert_eq!(p.aliases, ["Wladimir POUTINE"]);
    assert_eq!(p.kind, EntryKind::Individual);
    assert_eq!(p.programs, ["Russia"]);
    assert_eq!(p.birth_dates, [BirthDate::Exact { date: date(1952, 10, 7) }]);
    assert_eq!(p.details.countries, ["RU"]);
    assert_eq!(p.details.gender.as_deref(), Some("male"));
    assert_eq!(p.details.identifiers, ["100000001"]);
    assert_eq!(p.details.listed_on, Some(date(2022, 2, 26)));
    let g = by_id(&e, "CYB0010");
    assert_eq!((g.kind, g.name.as_str()), (EntryKind::Entity, "GRU, UNIT 26165"));
    assert_eq!(g.remarks.as_deref(), Some("Also \"APT28\""));
    assert_eq!(by_id(&e, "AQD0001").birth_dates, [BirthDate::Year { year: 1970, circa: false }]);
}

#[test]
fn uk_xml_both_publications() {
    for xml in [OFSI_XML, FCDO_XML] {
        let e = parse(ListFormat::UkXml, xml.as_bytes()).unwrap();
        let p = &e[0];
        assert_eq!(p.name, "Vladimir Vladimirovich PUTIN");
        let mut aliases = p.aliases.clone();
        aliases.sort();
        assert_eq!(aliases, ["Wladimir POUTINE", "Владимир Владимирович ПУТИН"], "{p:#?}");
        assert_eq!(p.kind, EntryKind::Individual);
        assert_eq!(p.birth_dates, [BirthDate::Exact { date: date(1952, 10, 7) }]);
        assert_eq!(p.details.countries, ["RU"]);
        assert_eq!(p.details.gender.as_deref(), Some("male"));
        assert_eq!(p.details.listed_on, Some(date(2022, 2, 25)));
        assert!(p.details.identifiers.contains(&"100000001".to_string()), "{:?}", p.details.identifiers);
        assert!(p.addresses.iter().any(|a| a.contains("Moscow")), "{:?}", p.addresses);
    }
}

#[test]
fn ofsi_consolidated_list_flat_targets() {
    let e = parse(ListFormat::UkXml, OFSI_XML.as_bytes()).unwrap();
    assert_eq!(e.len(), 2, "{e:#?}");
    let p = by_id(&e, "14196");
    assert_eq!(p.programs, ["Russia"]);
    assert_eq!(p.details.identifiers, ["100000001", "100000002"]);
    let h = by_id(&e, "6969");
    assert_eq!(h.name, "Omar Khalil HADDAD");
    assert_eq!(h.birth_dates, [BirthDate::Year { year: 1970, circa: false }]);
    assert_eq!(h.details.countries, ["SY", "LB"]);
    assert_eq!(h.details.identifiers, ["12345", "67890"]);
}

#[test]
fn fcdo_uk_sanctions_list_designations() {
    let e = parse(ListFormat::UkXml, FCDO_XML.as_bytes()).unwrap();
    assert_eq!(e.len(), 3, "{e:#?}");
    let p = by_id(&e, "RUS0251");
    assert_eq!(p.details.identifiers, ["100000001", "7700-123456"]);
    assert_eq!(p.programs, ["The Russia (Sanctions) (EU Exit) Regulations 2019"]);
    // `dd`/`mm` stand for an unknown day and month; "Primary name" and "ALias" in any case.
    let a = by_id(&e, "AFG0123");
    assert_eq!(a.name, "ABDUL RAHIM ZARGHUNI");
    assert_eq!(a.aliases[0], "Mullah Zarghuni");
    assert_eq!(a.birth_dates, [BirthDate::Year { year: 1961, circa: false }, BirthDate::Month { year: 1963, month: 5 }]);
    assert_eq!(a.details.listed_on, Some(date(2001, 2, 23)));
    assert_eq!(a.details.countries, ["AF"]);
    let c = by_id(&e, "RUS9999");
    assert_eq!((c.kind, c.name.as_str()), (EntryKind::Entity, "PJSC EXAMPLE OIL COMPANY"));
    assert_eq!(c.aliases, ["EXAMPLENEFT"]);
}

#[test]
fn opensanctions_simple_csv_with_a_pep() {
    let e = parse(ListFormat::OpenSanctionsCsv, OS_CSV.as_bytes()).unwrap();
    assert_eq!(e.len(), 3);
    let p = by_id(&e, "NK-aaa");
    assert_eq!(p.aliases, ["Wladimir Poutine", "Владимир Путин"]);
    assert_eq!(p.details.category, Category::Sanction);
    assert_eq!(p.details.countries, ["RU"]);
    assert_eq!(p.details.identifiers, ["100000001"]);
    assert!(p.programs.contains(&"RUSSIA-EO14024".to_string()));
    assert_eq!(p.details.source_url.as_deref(), Some("https://www.opensanctions.org/entities/NK-aaa/"));
    let pep = by_id(&e, "Q1234");
    assert_eq!(pep.details.category, Category::Pep);
    assert_eq!(pep.birth_dates, [BirthDate::Exact { date: date(1958, 6, 14) }]);
    assert_eq!(by_id(&e, "NK-ship").kind, EntryKind::Vessel);
}

#[test]
fn followthemoney_json_lines_with_topics_and_sanctions() {
    let e = parse(ListFormat::FtmJson, FTM_JSON.as_bytes()).unwrap();
    assert_eq!(e.len(), 2, "{e:#?}");
    let p = by_id(&e, "NK-aaa");
    assert_eq!(p.details.category, Category::Sanction, "sanctioned and a PEP is a sanctions target");
    assert_eq!(p.details.listed_on, Some(date(2022, 2, 25)));
    assert_eq!(p.details.source_url.as_deref(), Some("https://eur-lex.europa.eu/eli/reg_impl/2022/336/oj"));
    assert!(p.programs.contains(&"EU-UKR".to_string()));
    assert_eq!(p.details.gender.as_deref(), Some("male"));
    let pep = by_id(&e, "Q1234");
    assert_eq!(pep.details.category, Category::Pep);
    assert_eq!(pep.details.countries, ["DE"]);
    assert!(pep.remarks.as_deref().unwrap().contains("Chancellor"));
    assert!(matches!(parse(ListFormat::FtmJson, b"{not json"), Err(ParseError::Format { .. })));
}

#[test]
fn malformed_and_empty_files_are_errors() {
    assert!(parse(ListFormat::UnXml, b"<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><DATAID>1</DATAID>").is_err());
    assert!(parse(ListFormat::EuXml, b"<export></export>").is_err());
    assert!(parse(ListFormat::UkCsv, b"a,b,c\n1,2,3\n").is_err());
}

#[test]
fn loose_dates() {
    assert_eq!(loose_birth_date("00/00/1970"), Some(BirthDate::Year { year: 1970, circa: false }));
    assert_eq!(loose_birth_date("00/03/1970"), Some(BirthDate::Month { year: 1970, month: 3 }));
    assert_eq!(loose_birth_date("1970-03"), Some(BirthDate::Month { year: 1970, month: 3 }));
    assert_eq!(loose_birth_date("circa 1970"), Some(BirthDate::Year { year: 1970, circa: true }));
    assert_eq!(loose_birth_date("1962 to 1964"), Some(BirthDate::Range { from: 1962, to: 1964 }));
    assert_eq!(loose_birth_date("garbage"), None);
}

#[test]
fn ofac_remarks_give_gender_nationality_and_passports() {
    let d = ofac_remark_details("DOB 07 Oct 1952; nationality Russia; Gender Male; Passport 100000001 (Russia); alt. Passport 7 (Iran).", "10");
    assert_eq!(d.countries, ["RU"]);
    assert_eq!(d.gender.as_deref(), Some("male"));
    assert_eq!(d.identifiers, ["100000001", "7"]);
    assert_eq!(d.source_url.as_deref(), Some("https://sanctionssearch.ofac.treas.gov/Details.aspx?id=10"));
}
