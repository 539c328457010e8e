//! Topic stage: decides whether a story is *about* North Korea and Russia, and says why.
//!
//! **Takes** named term groups (the built-in [`default_groups`], or the config's), extra
//! terms, exclusion terms and a threshold ([`Spec`]), and per story an already-normalized title
//! and body (NFC, whitespace collapsed, markup stripped).
//!
//! **Gives** a [`Verdict`]: a score in 0.0–1.0, relevant when the score reaches the threshold,
//! the terms that matched, and per group the mentions that made its score, so a user can see
//! why a story was kept (`storywatch topic test`).
//!
//! **Does not** fetch, normalize, strip HTML or store anything.
//!
//! # Scoring
//!
//! A story must be about every group, not merely name it. Each mention of a group's term
//! weighs:
//!
//! * **1** in the title;
//! * **½** in the lede (the first [`LEDE_WORDS`] words of the body), so a story that names a
//!   country once in its first sentence ("…, Tokyo's defense ministry said, pointing to China
//!   and Russia") is not yet about it;
//! * **⅓** later in the body, so three mentions make a story about that group, and a Russia
//!   story naming North Korea once in its ninth paragraph is not about North Korea;
//! * **⅓** wherever it is, when it is one item of a list of three or more countries
//!   ("China, Russia, North Korea and Iran", "북·중·러"), or closed by the Korean 등, "and
//!   others" ("北 등 5개국"): lists name countries in passing.
//!
//! A group's score is the sum of its weights, capped at 1; the story's score is the lowest
//! group score, and the story is relevant when it reaches the threshold (default 1).
//!
//! Six rules read the way news is written:
//!
//! * **a headline completed by its first sentence**: when the title names one group (not in
//!   a list, and no country or leader of neither group but South Korea, no comparison) and
//!   the body's first sentence names another, not as the speaker ("…, said a Russian
//!   deputy"), that mention weighs 1: the headline says what the story is about, its first
//!   sentence who else is in it. A title naming no country at all leaves the subject to the
//!   first sentence, which then completes it alone;
//! * **one reference, one mention**: mentions of one group with at most two words and no
//!   punctuation between them ("Russian President Vladimir Putin") count once, and the first
//!   word of the body followed by a comma, full stop, dash or parenthesis is a wire dateline
//!   and does not count;
//! * **line-ups**: leaders of other countries and parades ([`OTHER_LEADERS`]) make lists as
//!   other countries do, and wherever one is named, two groups' mentions joined as a pair
//!   ("Putin and Kim") are named in passing;
//! * **a surname for a leader**: a headline's bare "Kim" ([`SURNAMES`]) is the DPRK's
//!   leader ("Putin, Kim sign treaty"), unless a given name is beside it ("Kim Keon-hee",
//!   "Анатолий Ким"); in a body it counts for nothing, being as often a South Korean's
//!   second mention;
//! * **a commentator's origin or field**: a mention followed by one of [`COMMENTATORS`]
//!   ("Russian expert", "러시아의 한반도 전문가", "российский политолог"), or by "-born" or
//!   "출신", does not count, and the text is then about something else too: the story is
//!   what they say, not where they come from;
//! * comparisons ("turning into North Korea") are built-in exclusions, and Russia's war in
//!   Ukraine (its prisoners of war, the DPRK's "overseas military operations") is a term of
//!   the built-in Russia group, which counts only beside a DPRK term.
//!
//! # Matching
//!
//! All terms (group terms, exclusions and the country names that make lists) are found in one
//! pass of an Aho-Corasick automaton over the folded text: Unicode lower case, `’` → `'`,
//! `ё` → `е`. A term starts at a word boundary (no letter or digit before it); its words are
//! separated by one space. What may follow depends on the script:
//!
//! * **Latin**: whole word. `Russia` does not match `Russian` (listed separately) and `Korea`
//!   is no DPRK term at all: "South Korea", "Korean", "Seoul" are the Republic of Korea.
//!   `DPRK's` matches `DPRK`.
//! * **Cyrillic** (inflected): up to two final vowels or soft signs are stripped when four
//!   letters remain, and the stem may be followed by up to three Cyrillic letters: `Россия`
//!   matches `России`, `Россией`; `Пхеньян` matches `Пхеньяна`; `северокорейский` matches
//!   `северокорейских`. A one-word term whose stem would be shorter matches exactly; in a
//!   term of several words the others anchor a short one, stemmed down to three letters
//!   (`Приморский край` matches `Приморского края`).
//! * **Hangul**: Korean attaches particles without a space, so anything may follow a term of
//!   two or more syllables (`북한은`, `러시아와`); the left boundary still applies, so `남북한`
//!   does not match `북한`. A one-syllable abbreviation (`북`, `러`, `北`) stands alone or
//!   takes a particle: `북 `, `북·러`, `러에`, `北은` match; `북미`, `러닝`, `北京` do not.
//!   Compounds are listed whole (`북러`, `방러`).
//!
//! An exclusion term hides the group terms inside it: `Pyongyang` in `평양냉면` (a noodle
//! dish) or `Russian` in `Russian roulette` count for nothing.

use std::collections::BTreeMap;
use std::collections::HashMap;

use aho_corasick::AhoCorasick;

/// Words of the body that make its lede.
pub const LEDE_WORDS: usize = 50;
/// The weight of a mention in the lede: two make a story about the group, as one in the title
/// does.
pub const LEDE_WEIGHT: f64 = 0.5;
/// The weight of a mention after the lede, or in a list of countries.
pub const PASSING_WEIGHT: f64 = 1.0 / 3.0;
/// The default threshold: every group in the title, twice in the lede, or three times later.
pub const DEFAULT_THRESHOLD: f64 = 1.0;
/// Countries named in a list with this many countries or more are named in passing.
const LIST_MIN: usize = 3;

/// Errors building a [`Topic`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("topic group {group:?} has no terms")]
    EmptyGroup { group: String },
    #[error("topic group {group:?} contains an empty term")]
    EmptyTerm { group: String },
    #[error("no topic groups configured")]
    NoGroups,
    #[error("building topic matcher: {0}")]
    Build(#[from] aho_corasick::BuildError),
}

/// What the topic stage is built from.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// Group name → terms; a story must be about every group.
    pub groups: BTreeMap<String, Vec<String>>,
    /// Terms whose matches hide the group terms inside them.
    pub exclude: Vec<String>,
    /// Score from which a story is relevant, in (0, 1].
    pub threshold: f64,
}

impl Default for Spec {
    /// The built-in groups and exclusions, and the default threshold.
    fn default() -> Spec {
        Spec {
            groups: default_groups(),
            exclude: strings(DEFAULT_EXCLUDE),
            threshold: DEFAULT_THRESHOLD,
        }
    }
}

impl Spec {
    /// The spec a `[topic]` config section asks for: its groups (or the built-in ones) with
    /// its extra terms, the built-in exclusions with its own, and its threshold.
    pub fn from_config(config: &crate::config::TopicConfig) -> Spec {
        let mut groups = config.groups.clone().unwrap_or_else(default_groups);
        for (name, terms) in &config.extra {
            let group = groups.entry(name.clone()).or_default();
            for term in terms {
                if !group.contains(term) {
                    group.push(term.clone());
                }
            }
        }
        let mut exclude = default_exclude();
        exclude.extend(config.exclude.iter().cloned());
        Spec {
            groups,
            exclude,
            threshold: config.threshold,
        }
    }
}

fn strings(terms: &[&str]) -> Vec<String> {
    terms.iter().map(|t| (*t).to_owned()).collect()
}

/// North Korea: the country and its adjectives, capital, leaders and officials, institutions
/// and places, in English, Korean and Russian.
const DPRK: &[&str] = &[
    // English
    "North Korea",
    "North Korean",
    "North Koreans",
    "N. Korea",
    "N. Korean",
    "N. Koreans",
    "N.Korea",
    "N.Korean",
    "N.Koreans",
    "N Korea",
    "N Korean",
    "N.K.",
    "captured North Korean",
    "DPRK",
    "Democratic People's Republic of Korea",
    "Pyongyang",
    "Kim",
    "Kim Jong Un",
    "Kim Jong-un",
    "Kim Yo Jong",
    "Kim Yo-jong",
    "Kim Jung Un",
    "Kim Jung-un",
    "Kim Jong Eun",
    "Kim Jong-eun",
    "Kim Ju Ae",
    "Kim Ju-ae",
    "Kim Jong Il",
    "Kim Jong-il",
    "Kim Il Sung",
    "Kim Il-sung",
    "Juche",
    "Choe Son Hui",
    "Choe Son-hui",
    "No Kwang Chol",
    "Pak Jong Chon",
    "Ri Pyong Chol",
    "Pak Thae Song",
    "Jo Yong Won",
    "Kim Tok Hun",
    "Choe Ryong Hae",
    "Sin Hong Chol",
    "KCNA",
    "Korean Central News Agency",
    "Rodong Sinmun",
    "Workers' Party of Korea",
    "Korean People's Army",
    "Rason",
    "Rajin",
    "Tumangang",
    "Tumen River",
    "Tumannaya",
    "Wonsan",
    "Yongbyon",
    "Masikryong",
    "Kalma",
    "Sinuiju",
    "Chongjin",
    "Sinpo",
    "Punggye-ri",
    "Sohae",
    "Samjiyon",
    // Korean
    "북한",
    "북측",
    "북",
    "北",
    "북러",
    "러북",
    "조러",
    "조선민주주의인민공화국",
    "조선중앙통신",
    "노동신문",
    "조선노동당",
    "조선인민군",
    "인민군",
    "김정은",
    "김여정",
    "김주애",
    "김 총비서",
    "김 국무위원장",
    "김정일",
    "김일성",
    "주체사상",
    "최선희",
    "박태성",
    "조용원",
    "노광철",
    "리병철",
    "최룡해",
    "신홍철",
    "평양",
    "방북",
    "대북",
    "북핵",
    "라선",
    "나진항",
    "원산갈마",
    "원산시",
    "나선시",
    "나선경제무역지대",
    "두만강",
    "마식령",
    "갈마",
    "신의주",
    "청진",
    "신포",
    "풍계리",
    "삼지연",
    // Russian
    "КНДР",
    "Северная Корея",
    "северокорейский",
    "северокореец",
    "северокорейцы",
    "пхеньянский",
    "Корейская Народно-Демократическая Республика",
    "Корейская Народная Демократическая Республика",
    "Пхеньян",
    "Ким",
    "Кима",
    "Киму",
    "Кимом",
    "Ким Чен Ын",
    "Ким Чен Ин",
    "Ким Чон Ын",
    "Ким Чжон Ын",
    "Ким Йо Чжон",
    "Ким Ё Джон",
    "Ким Чжу Э",
    "Ким Ё Чжон",
    "Ким Е Чжон",
    "Ким Чен Ир",
    "Ким Ир Сен",
    "чучхе",
    // Ukrainian
    "Північна Корея",
    "північнокорейський",
    "Кім Чен Ин",
    "Кім Йо Чжон",
    "Пхеньян",
    "Чо Сон Хи",
    "Цой Сон Хи",
    "Чвэ Сон Хи",
    "Пак Тхэ Сон",
    "Чо Ён Вон",
    "Но Гван Чхоль",
    "Ли Пён Чхоль",
    "Чхве Рён Хэ",
    "Цой Рён Хэ",
    "Чвэ Рён Хэ",
    "Син Хон Чхоль",
    "ЦТАК",
    "Трудовая партия Кореи",
    "Корейская народная армия",
    "Расон",
    "Раджин",
    "Туманган",
    "река Туманная",
    "Вонсан",
    "Масикрён",
    "Кальма",
    "Синыйджу",
    "Чхонджин",
    "Синпхо",
    "Пхунгери",
    "Самджиён",
];

/// Russia: the country and its adjectives, capital, leaders and officials, institutions and
/// the places where it meets North Korea, in English, Korean and Russian.
const RUSSIA: &[&str] = &[
    // English
    "Russia",
    "Russian",
    "Russians",
    "Russo",
    "Soviet",
    "Soviets",
    "Red Army",
    "USSR",
    "Stalin",
    "Moscow",
    "Kremlin",
    "Putin",
    "Lavrov",
    "Shoigu",
    "Belousov",
    "Peskov",
    "Medvedev",
    "Zakharova",
    "Gerasimov",
    "Mishustin",
    "Volodin",
    "Matviyenko",
    "Kozlov",
    "Lyubimova",
    "Matsegora",
    "Zinoviev",
    "Tsivilev",
    "Kozhemyako",
    "Trutnev",
    "Chekunkov",
    "Galuzin",
    "Rudenko",
    "Nebenzia",
    "Naryshkin",
    "Bortnikov",
    "Kolokoltsev",
    "Ushakov",
    "Patrushev",
    "Kadyrov",
    "Manturov",
    "Duma",
    "Roscosmos",
    "Gazprom",
    "Rosneft",
    "Rosatom",
    "Aeroflot",
    "Vostochny",
    "Vladivostok",
    "Primorye",
    "Primorsky",
    "Khabarovsk",
    "Eastern Economic Forum",
    "SPIEF",
    "Sakhalin",
    "Siberia",
    // Russia's regions and cities, where its ties with the DPRK are made and told.
    "St. Petersburg",
    "St Petersburg",
    "Saint Petersburg",
    "Novosibirsk",
    "Yekaterinburg",
    "Kazan",
    "Tatarstan",
    "Irkutsk",
    "Krasnoyarsk",
    "Yakutia",
    "Yakutsk",
    "Kamchatka",
    "Magadan",
    "Nakhodka",
    "Ussuriysk",
    "Ulan-Ude",
    "Buryatia",
    "Blagoveshchensk",
    "Kuzbass",
    "Kemerovo",
    "Omsk",
    "Tomsk",
    "Chelyabinsk",
    "Ufa",
    "Bashkortostan",
    "Nizhny Novgorod",
    "Voronezh",
    "Rostov",
    "Krasnodar",
    "Sochi",
    "Kaliningrad",
    "Murmansk",
    "Belgorod",
    "Bryansk",
    "Kostroma",
    "Chukotka",
    "Khasan",
    "Hasan",
    "Kursk",
    // Korean
    "러시아",
    "러",
    "露",
    "북러",
    "러북",
    "조러",
    "로씨야",
    "한러",
    "방러",
    "대러",
    "친러",
    "소련",
    "소련군",
    "붉은 군대",
    "스탈린",
    "통합러시아",
    "가스프롬",
    "로스아톰",
    "볼로딘",
    "마트비옌코",
    "코즐로프",
    "마체고라",
    "지노비예프",
    "치빌료프",
    "코제먀코",
    "트루트네프",
    "갈루진",
    "루덴코",
    "나리시킨",
    "푸틴",
    "모스크바",
    "크렘린",
    "라브로프",
    "쇼이구",
    "벨로우소프",
    "페스코프",
    "블라디보스토크",
    "연해주",
    "하바롭스크",
    "동방경제포럼",
    "사할린",
    "시베리아",
    "상트페테르부르크",
    "노보시비르스크",
    "예카테린부르크",
    "카잔",
    "타타르스탄",
    "이르쿠츠크",
    "크라스노야르스크",
    "야쿠티야",
    "캄차카",
    "마가단",
    "나홋카",
    "우수리스크",
    "울란우데",
    "부랴티야",
    "블라고베셴스크",
    "아무르주",
    "소치",
    "칼리닌그라드",
    "무르만스크",
    "벨고로드",
    "하산역",
    "쿠르스크",
    // Russian
    "Россия",
    "российский",
    "россиянин",
    "россияне",
    "РФ",
    "СССР",
    "советский",
    "Красная Армия",
    "РККА",
    "Сталин",
    "Москва",
    "московский",
    "русский язык",
    "Кремль",
    "кремлевский",
    "Путин",
    "Лавров",
    "Шойгу",
    "Белоусов",
    "Песков",
    "Медведев",
    "Захарова",
    "Володин",
    "Матвиенко",
    "Козлов",
    "Любимова",
    "Мацегора",
    "Зиновьев",
    "Цивилев",
    "Кожемяко",
    "Трутнев",
    "Чекунков",
    "Галузин",
    "Минниханов",
    "Дегтярев",
    "Руденко",
    "Небензя",
    "Нарышкин",
    "Бортников",
    "Колокольцев",
    "Ушаков",
    "Патрушев",
    "Кадыров",
    "Мантуров",
    "Госдума",
    "РЖД",
    "Газпром",
    "Роснефть",
    "Росатом",
    "Аэрофлот",
    "Роскосмос",
    "Владивосток",
    "Приморье",
    "Приморский край",
    "Хабаровск",
    "Восточный экономический форум",
    "ВЭФ",
    "ПМЭФ",
    "Сахалин",
    "Сибирь",
    "Санкт-Петербург",
    "Петербург",
    "Новосибирск",
    "Екатеринбург",
    "Казань",
    "Татарстан",
    "Иркутск",
    "Красноярск",
    "Якутия",
    "Якутск",
    "Камчатка",
    "Магадан",
    "Уссурийск",
    "Улан-Удэ",
    "Бурятия",
    "Амурская область",
    "Благовещенск",
    "Кузбасс",
    "Кемерово",
    "Новокузнецк",
    "Омск",
    "Томск",
    "Челябинск",
    "Башкортостан",
    "Нижний Новгород",
    "Воронеж",
    "Орловская область",
    "Пенза",
    "Ростов",
    "Краснодар",
    "Сочи",
    "Калининград",
    "Мурманск",
    "Белгород",
    "Брянск",
    "Кострома",
    "Чукотка",
    "Дальний Восток",
    "дальневосточный",
    "Хасан",
    "Курск",
    // Ukrainian
    "Росія",
    "російський",
    "Путін",
    "Курщина",
    // Russia's war in Ukraine stands in for Russia beside the DPRK: North Korea's troops,
    // prisoners and shells there are its part in Russia's war ("North Korean POWs in
    // Ukraine", "북한군 파병", "пленные солдаты КНДР в Киеве"). Alone, these name no
    // DPRK, so a Russia–Ukraine story stays out.
    "Ukraine",
    "Ukrainian",
    "Ukrainians",
    "Kyiv",
    "Zelensky",
    "Zelenskyy",
    "Kharkiv",
    "POW",
    "POWs",
    "prisoner of war",
    "prisoners of war",
    "captured North Korean",
    // The DPRK's own name for its part in the war.
    "overseas military operation",
    "overseas military operations",
    "overseas operations",
    "우크라이나",
    "우크라",
    "젤렌스키",
    "키이우",
    "파병",
    "파병군",
    "참전",
    "포로",
    "해외군사작전",
    "해외 군사작전",
    "해외작전",
    "해외 작전",
    "Украина",
    "украинский",
    "Киев",
    "киевский",
    "Зеленский",
    "Харьков",
    "СВО",
    "спецоперация",
    "военнопленный",
    "пленный",
    "зарубежная военная операция",
    "Україна",
    "український",
    "Зеленський",
    "ЗСУ",
    "полонений",
    "військовополонений",
];

/// Built-in exclusions: ordinary phrases that contain a group term.
const DEFAULT_EXCLUDE: &[&str] = &[
    "Russian roulette",
    "Russian doll",
    "Russian dolls",
    "Russian River",
    "Moscow, Idaho",
    "Moscow mule",
    // Moscow time and a World Cup held in Russia say when and where, not who.
    "Moscow time",
    "по Москве",
    "по московскому времени",
    "모스크바 시간",
    "Russia World Cup",
    "World Cup in Russia",
    "러시아 월드컵",
    "чемпионат мира в России",
    "북한산",
    "북한강",
    "평양냉면",
    "평양면옥",
    // An institute's name is no place: the Institute of Far Eastern Studies.
    "Институт Дальнего Востока",
    "Institute of Far Eastern Studies",
    // Prisoners of war from the Korean War are no part of Russia's.
    "국군 포로",
    "South Korean POWs",
    // Comparisons: a country likened to North Korea is not in a story with it.
    "turning into North Korea",
    "turn into North Korea",
    "turned into North Korea",
    "becoming North Korea",
    "become North Korea",
    "becoming the next North Korea",
    "the next North Korea",
    "the world's next North Korea",
    "another North Korea",
    "a new North Korea",
    "the new North Korea",
    "like North Korea",
    "North Korea-style",
    "North Korea-like",
    "North Korea on steroids",
    "North Korean model",
    "North Korea model",
    "similar to North Korea",
    "resembles North Korea",
    "resemble North Korea",
    "as it does North Korea",
    "than North Korea",
    "модели Северной Кореи",
    "превращается в Северную Корею",
    "превратится в Северную Корею",
    "превратиться в Северную Корею",
    "превращение в Северную Корею",
    "как в Северной Корее",
    "как в КНДР",
    "второй Северной Кореей",
    "новой Северной Кореей",
    "похож на Северную Корею",
    "похож на КНДР",
    "подобно Северной Корее",
    "подобно КНДР",
    "как и Северная Корея",
    "как и КНДР",
    "чем в Северной Корее",
    "чем в КНДР",
    "북한처럼",
    "북한화",
    "제2의 북한",
    "북한식",
    "북한 같은",
    "북한과 닮은",
    "북한을 닮아",
    "북한보다",
    "북한 모델",
];

/// Country names that are neither group: with the groups' terms, they make the lists in which
/// a country is named only in passing.
const OTHER_COUNTRIES: &[&str] = &[
    "China",
    "Chinese",
    "Beijing",
    "Iran",
    "Iranian",
    "Tehran",
    "Belarus",
    "Syria",
    "Cuba",
    "Venezuela",
    "Vietnam",
    "Laos",
    "Mongolia",
    "India",
    "Israel",
    "Germany",
    "German",
    "France",
    "French",
    "Britain",
    "British",
    "Australia",
    "Canada",
    "Poland",
    "Estonia",
    "Latvia",
    "Lithuania",
    "Kazakhstan",
    "Turkey",
    "Pakistan",
    "Japanese",
    "American",
    "Belarusian",
    "United States",
    "U.S.",
    "America",
    "Japan",
    "중국",
    "중",
    "中",
    "美",
    "日",
    "이란",
    "미국",
    "미",
    "일본",
    "일",
    "우",
    "벨라루스",
    "시리아",
    "쿠바",
    // Korean pairs of other countries: "한미일 훈련" names three.
    "한미일",
    "한미",
    "한일",
    "미일",
    "한중",
    "미중",
    "베네수엘라",
    "베트남",
    "라오스",
    "몽골",
    "이스라엘",
    "독일",
    "프랑스",
    "영국",
    "호주",
    "캐나다",
    "폴란드",
    "에스토니아",
    "카자흐스탄",
    "튀르키예",
    "파키스탄",
    "Китай",
    "китайский",
    "Иран",
    "иранский",
    "США",
    "Белоруссия",
    "Беларусь",
    "Сирия",
    "Куба",
    "Венесуэла",
    "Вьетнам",
    "Лаос",
    "Монголия",
    "Индия",
    "Израиль",
    "Германия",
    "Франция",
    "Великобритания",
    "Британия",
    "Австралия",
    "Канада",
    "Польша",
    "Эстония",
    "Латвия",
    "Литва",
    "Казахстан",
    "Турция",
    "Пакистан",
    "Япония",
];

/// South Korea: it makes lists as [`OTHER_COUNTRIES`] do, but a headline naming it may still
/// be completed by its first sentence. Most of these stories are told from Seoul, which
/// reacts to the tie first ("Foreign Ministry summons Russian envoy to South Korea", its lede
/// "…over North Korea's deployment of soldiers").
const SOUTH_KOREA: &[&str] = &[
    "South Korea",
    "South Korean",
    "South Koreans",
    "S. Korea",
    "S. Korean",
    "S.Korea",
    "S.Korean",
    "韓",
    "한국",
    "한",
    "Южная Корея",
    "южнокорейский",
];

/// Leaders of other countries (and the parades that line leaders up): like
/// [`OTHER_COUNTRIES`] they make lists ("Xi, Putin and Kim"), and beside them a pair of the
/// groups' leaders is a line-up ([`mark_pairs`]).
const OTHER_LEADERS: &[&str] = &[
    "Xi",
    "Xi Jinping",
    "Trump",
    "Donald Trump",
    "Biden",
    "Lukashenko",
    "Erdogan",
    "Modi",
    "Khamenei",
    "Pezeshkian",
    "Netanyahu",
    "시진핑",
    "習",
    "트럼프",
    "바이든",
    "루카셴코",
    "Си Цзиньпин",
    "Си",
    "Трамп",
    "Байден",
    "Лукашенко",
    "Эрдоган",
    // A parade or a gathering of leaders lines them up too.
    "parade",
    "열병식",
    "парад",
];

/// Surnames that stand for a leader in a headline ("Putin, Kim sign treaty", "Путин и Ким
/// обсудили"): they count in the title only, and only standing alone there
/// ([`surname_stands_alone`]): "Kim Keon-hee", "Kim Dae Jung" are South Koreans, "Анатолий
/// Ким" a Russian.
const SURNAMES: &[&str] = &["Kim", "Ким", "Кима", "Киму", "Кимом"];

/// Romanized syllables that start Korean given names, folded: after a surname they make it a
/// full name, which is a term of its own when it names a leader.
const GIVEN_NAMES: &[&str] = &[
    "bo", "byung", "chan", "chang", "chol", "chul", "dae", "dong", "eun", "geun", "gun", "gwang",
    "ha", "hak", "han", "hee", "ho", "hong", "hye", "hyo", "hyon", "hyun", "il", "in", "jae", "ji",
    "jin", "jong", "joon", "ju", "jun", "jung", "keon", "kun", "kwang", "kyong", "kyu", "kyung",
    "mi", "min", "moon", "myung", "nam", "ok", "sang", "se", "seong", "seung", "so", "song", "soo",
    "su", "sun", "sung", "tae", "tok", "won", "woo", "yang", "ye", "yeon", "yeong", "yo", "yon",
    "yong", "young", "yu", "yun",
];

/// Whether `after`, the text after a surname, starts with a given name: a word of
/// [`GIVEN_NAMES`], or a hyphenated one ("keon-hee").
fn given_name_follows(after: &str) -> bool {
    let Some(rest) = after.strip_prefix(' ') else {
        return false;
    };
    let word = rest
        .split(|c: char| !(c.is_alphabetic() || c == '-'))
        .next()
        .unwrap_or("");
    let first = word.split('-').next().unwrap_or("");
    GIVEN_NAMES.contains(&first) || (word.contains('-') && !first.is_empty())
}

/// Whether the surname at `start..end` of the folded `text` stands alone in `original`, the
/// title as written: in Latin script no given name follows it (headlines capitalize every
/// word, so [`GIVEN_NAMES`] tell); in Cyrillic, whose headlines capitalize only names, no
/// capitalized word precedes it within the sentence or follows it.
fn surname_stands_alone(text: &str, original: &str, start: usize, end: usize) -> bool {
    if text[start..end].is_ascii() {
        return !given_name_follows(&text[end..]);
    }
    let (start, end) = (
        original_offset(original, start),
        original_offset(original, end),
    );
    let before = original[..start].trim_end();
    let previous_is_name = before
        .rsplit(char::is_whitespace)
        .next()
        .is_some_and(|w| w.starts_with(char::is_uppercase))
        && !before.ends_with(['.', ':', '!', '?', '—', '«', '"']);
    let next_is_name = original[end..]
        .strip_prefix(' ')
        .is_some_and(|rest| rest.starts_with(char::is_uppercase));
    !previous_is_name && !next_is_name
}

/// The byte offset in `original` of byte offset `folded` of its folded form.
fn original_offset(original: &str, folded: usize) -> usize {
    let mut buf = String::new();
    let mut length = 0;
    for (i, c) in original.char_indices() {
        if length >= folded {
            return i;
        }
        buf.clear();
        fold_char(c, &mut buf);
        length += buf.len();
    }
    original.len()
}

/// The built-in groups: `dprk` and `russia`.
pub fn default_groups() -> BTreeMap<String, Vec<String>> {
    BTreeMap::from([
        ("dprk".to_owned(), strings(DPRK)),
        ("russia".to_owned(), strings(RUSSIA)),
    ])
}

/// The built-in exclusion terms.
pub fn default_exclude() -> Vec<String> {
    strings(DEFAULT_EXCLUDE)
}

/// Script class of one word of a term; decides what may follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    /// Whole word, nothing may follow.
    Latin,
    /// Up to `max_suffix` Cyrillic letters may follow the stem.
    Cyrillic { max_suffix: usize },
    /// Anything may follow when this is the last word (particles).
    Hangul,
    /// A one-syllable abbreviation (`북`, `러`): only a particle may follow, or no letter.
    HangulToken,
    /// A one-character Hanja abbreviation (`北`, `中`): no other Hanja may follow (`北京` is
    /// Beijing), a Hangul particle may (`北은`).
    HanToken,
}

/// One folded word of a term.
#[derive(Debug, Clone)]
struct Word {
    /// Folded text (the stem, for Cyrillic words).
    text: String,
    script: Script,
}

/// What a term is for.
#[derive(Debug, Clone, PartialEq)]
enum Role {
    /// Counts for these groups (a term may be in several: `북러` is in both).
    Groups(Vec<usize>),
    /// Hides group terms inside its matches.
    Exclude,
    /// Another country: only makes lists.
    Other,
}

#[derive(Debug)]
struct Term {
    /// The term as written (reported in [`Verdict`]).
    display: String,
    role: Role,
    words: Vec<Word>,
    /// One of [`OTHER_LEADERS`].
    leader: bool,
    /// One of [`SURNAMES`].
    surname: bool,
    /// One of [`SOUTH_KOREA`].
    onlooker: bool,
}

/// The compiled topic matcher. Build once and share it: it is `Send + Sync` and
/// [`Topic::evaluate`] takes `&self`.
#[derive(Debug)]
pub struct Topic {
    /// Automaton over the distinct folded first words of all terms.
    automaton: AhoCorasick,
    /// Pattern id → indices into `terms` that start with that pattern.
    by_pattern: Vec<Vec<usize>>,
    terms: Vec<Term>,
    group_names: Vec<String>,
    threshold: f64,
}

/// Where a mention was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Title,
    Lede,
    Body,
}

/// One mention of a group term.
#[derive(Debug, Clone, PartialEq)]
pub struct Mention {
    /// The term as written in the config.
    pub term: String,
    pub place: Place,
    /// One item of a list of countries.
    pub listed: bool,
    /// In the body's first sentence, naming a group the title does not while the title
    /// names another: it completes the headline's subject and weighs 1.
    pub completes: bool,
    pub weight: f64,
}

/// How much a story is about one group.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupScore {
    pub name: String,
    /// Sum of the mentions' weights, capped at 1.
    pub score: f64,
    pub mentions: Vec<Mention>,
}

/// The topic stage's verdict on one story.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The score reached the threshold.
    pub relevant: bool,
    /// The lowest group score, 0.0–1.0.
    pub score: f64,
    /// The group terms (as written) that matched, title first, in order, no duplicates.
    pub matched_terms: Vec<String>,
    /// Per group, in name order.
    pub groups: Vec<GroupScore>,
}

impl Topic {
    /// Compiles `spec` into one matcher.
    pub fn new(spec: &Spec) -> Result<Topic, Error> {
        if spec.groups.is_empty() {
            return Err(Error::NoGroups);
        }
        let mut terms: Vec<Term> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for (gi, (name, list)) in spec.groups.iter().enumerate() {
            if list.is_empty() {
                return Err(Error::EmptyGroup {
                    group: name.clone(),
                });
            }
            for raw in list {
                if raw.trim().is_empty() {
                    return Err(Error::EmptyTerm {
                        group: name.clone(),
                    });
                }
                match index.get(raw.as_str()) {
                    Some(&ti) => {
                        if let Role::Groups(groups) = &mut terms[ti].role {
                            if !groups.contains(&gi) {
                                groups.push(gi);
                            }
                        }
                    }
                    None => {
                        index.insert(raw.clone(), terms.len());
                        terms.push(Term {
                            display: raw.clone(),
                            role: Role::Groups(vec![gi]),
                            words: compile_words(raw),
                            leader: false,
                            surname: SURNAMES.contains(&raw.as_str()),
                            onlooker: false,
                        });
                    }
                }
            }
        }
        let extra = spec
            .exclude
            .iter()
            .map(|t| (t.as_str(), Role::Exclude, false))
            .chain(OTHER_COUNTRIES.iter().map(|t| (*t, Role::Other, false)))
            .chain(SOUTH_KOREA.iter().map(|t| (*t, Role::Other, false)))
            .chain(OTHER_LEADERS.iter().map(|t| (*t, Role::Other, true)));
        for (raw, role, leader) in extra {
            if raw.trim().is_empty() || index.contains_key(raw) {
                continue;
            }
            index.insert(raw.to_owned(), terms.len());
            terms.push(Term {
                display: raw.to_owned(),
                role,
                words: compile_words(raw),
                leader,
                surname: false,
                onlooker: SOUTH_KOREA.contains(&raw),
            });
        }

        let mut patterns: Vec<&str> = Vec::new();
        let mut pattern_index: HashMap<&str, usize> = HashMap::new();
        let mut by_pattern: Vec<Vec<usize>> = Vec::new();
        for (ti, term) in terms.iter().enumerate() {
            let first = term.words[0].text.as_str();
            let pi = *pattern_index.entry(first).or_insert_with(|| {
                patterns.push(first);
                by_pattern.push(Vec::new());
                patterns.len() - 1
            });
            by_pattern[pi].push(ti);
        }
        // The standard match kind, so that an overlapping search reports every occurrence of
        // every pattern, a term inside another one included.
        // A DFA: the fastest search, and a few hundred short patterns keep it small.
        let automaton = AhoCorasick::builder()
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .build(&patterns)?;
        Ok(Topic {
            automaton,
            by_pattern,
            terms,
            group_names: spec.groups.keys().cloned().collect(),
            threshold: spec.threshold,
        })
    }

    /// The score from which a story is relevant.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// Judges a story by its title and body.
    pub fn evaluate(&self, title: &str, body: &str) -> Verdict {
        let mut buf = String::with_capacity(title.len().max(body.len()) + 8);
        let mut groups: Vec<GroupScore> = self
            .group_names
            .iter()
            .map(|name| GroupScore {
                name: name.clone(),
                score: 0.0,
                mentions: Vec::new(),
            })
            .collect();
        let mut matched_terms: Vec<String> = Vec::new();
        // Which groups the title names (not in a list): a lede naming another group then
        // completes the headline's subject.
        let mut titled = vec![false; groups.len()];
        // Whether the title names a country or leader of neither group, or makes a
        // comparison: the headline's subject is then not only the groups it names.
        let mut title_names_others = false;
        // Whether the title names any group, in a list or not.
        let mut title_names_groups = false;
        for (text, is_title) in [(title, true), (body, false)] {
            buf.clear();
            fold_into(text, &mut buf);
            let lede_end = if is_title { buf.len() } else { lede_end(&buf) };
            let first_sentence = if is_title {
                0
            } else {
                first_sentence_end(&buf, lede_end)
            };
            let dateline = if is_title { 0 } else { dateline_end(&buf) };
            if !is_title {
                title_names_groups = groups.iter().any(|g| !g.mentions.is_empty());
                for (g, group) in groups.iter().enumerate() {
                    titled[g] = group
                        .mentions
                        .iter()
                        .any(|m| m.place == Place::Title && !m.listed);
                }
            }
            let (found_here, others) = self.scan(&buf, is_title.then_some(title));
            if is_title {
                title_names_others = others;
            }
            // Where each group's last mention in this text ended: a title and a name side
            // by side ("Russian President Vladimir Putin", "김정은 북한 국무위원장") are one
            // reference, not two.
            let mut last_end: Vec<Option<usize>> = vec![None; groups.len()];
            for found in found_here {
                if found.start < dateline {
                    continue;
                }
                let Role::Groups(ids) = &self.terms[found.term].role else {
                    continue;
                };
                let place = match (is_title, found.start < lede_end) {
                    (true, _) => Place::Title,
                    (false, true) => Place::Lede,
                    (false, false) => Place::Body,
                };
                let weight = if found.listed || place == Place::Body {
                    PASSING_WEIGHT
                } else if place == Place::Lede {
                    LEDE_WEIGHT
                } else {
                    1.0
                };
                let display = &self.terms[found.term].display;
                if !matched_terms.contains(display) {
                    matched_terms.push(display.clone());
                }
                for &g in ids {
                    let same_reference = last_end[g].is_some_and(|end| {
                        end <= found.start && one_reference(&buf[end..found.start])
                    });
                    last_end[g] = Some(found.end);
                    if same_reference {
                        continue;
                    }
                    // The headline names another group and the lede this one: the story
                    // is about both ("Leader honours troops killed in Ukraine war", its
                    // lede "North Korean leader Kim Jong Un …"). A headline naming no country
                    // at all leaves its subject to the first sentence ("The end of the
                    // pariah state", its lede "When Kim Jong Un pulled into Vladivostok to
                    // meet Putin…").
                    let completes = place == Place::Lede
                        && found.start < first_sentence
                        && !found.listed
                        && !title_names_others
                        && !titled[g]
                        && (titled.iter().enumerate().any(|(o, t)| *t && o != g)
                            || !title_names_groups)
                        && !attributes_speech(&buf[..found.start]);
                    groups[g].mentions.push(Mention {
                        term: display.clone(),
                        place,
                        listed: found.listed,
                        completes,
                        weight: if completes { 1.0 } else { weight },
                    });
                }
            }
        }
        for group in &mut groups {
            // Folded from +0.0: an empty float sum is -0.0, printed "-0.00".
            let sum = group.mentions.iter().fold(0.0, |sum, m| sum + m.weight);
            // Three thirds make one: round away the float error before capping.
            group.score = ((sum * 1e6).round() / 1e6).min(1.0);
        }
        let score = groups.iter().map(|g| g.score).fold(f64::INFINITY, f64::min);
        let score = if score.is_finite() { score } else { 0.0 };
        Verdict {
            relevant: score >= self.threshold,
            score,
            matched_terms,
            groups,
        }
    }

    /// Every counted mention in `text` (folded), in order: group terms not hidden by an
    /// exclusion, one per position (the longest term there); and whether another country or
    /// leader is named, or a group term hidden by an exclusion.
    ///
    /// `original` is the title as written, for the [`SURNAMES`]; in a body (`None`) they
    /// count for nothing, being as often a South Korean's second mention.
    fn scan(&self, text: &str, original: Option<&str>) -> (Vec<Found>, bool) {
        let mut all: Vec<Found> = Vec::new();
        for m in self.automaton.find_overlapping_iter(text) {
            let start = m.start();
            if !left_boundary_ok(text, start) {
                continue;
            }
            for &ti in &self.by_pattern[m.pattern().as_usize()] {
                if let Some(end) = term_end_at(&self.terms[ti].words, text, start) {
                    if self.terms[ti].surname
                        && !original.is_some_and(|o| surname_stands_alone(text, o, start, end))
                    {
                        continue;
                    }
                    all.push(Found {
                        start,
                        end,
                        term: ti,
                        listed: false,
                        leader: self.terms[ti].leader,
                    });
                }
            }
        }
        let excluded = Exclusions::new(
            all.iter()
                .filter(|f| self.terms[f.term].role == Role::Exclude)
                .map(|f| (f.start, f.end)),
        );
        // A group term an exclusion hides is a comparison or a phrase ("turning into North
        // Korea"): the text is then about something else too.
        let hidden = all.iter().any(|f| {
            matches!(self.terms[f.term].role, Role::Groups(_)) && excluded.covers(f.start)
        });
        all.retain(|f| self.terms[f.term].role != Role::Exclude && !excluded.covers(f.start));
        // Longest first at each position: a shorter term at the same place, or one inside
        // an earlier term ("Korea" inside "South Korea"), is the same mention.
        all.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
        let mut mentions: Vec<Found> = Vec::with_capacity(all.len());
        for found in all {
            if mentions.last().is_none_or(|last| found.start >= last.end) {
                mentions.push(found);
            }
        }
        // "Russian expert", "러시아 출신 학자", "российский политолог": a country that says
        // where a commentator comes from, or what they study, is not what the story is about.
        // A mention right before another that does ("russian north korea expert") does too.
        let mut commentator = vec![false; mentions.len()];
        for i in (0..mentions.len()).rev() {
            let f = &mentions[i];
            if !matches!(self.terms[f.term].role, Role::Groups(_)) {
                continue;
            }
            let after = &text[f.end..];
            commentator[i] = qualifies_a_commentator(after)
                || mentions.get(i + 1).is_some_and(|next| {
                    commentator[i + 1] && text[f.end..next.start].trim().is_empty()
                });
        }
        let hidden = hidden || commentator.contains(&true);
        let mut mentions: Vec<Found> = mentions
            .into_iter()
            .zip(commentator)
            .filter_map(|(f, commentator)| (!commentator).then_some(f))
            .collect();
        let groups = self.group_names.len();
        mark_lists(text, &mut mentions, |f| match &self.terms[f.term].role {
            Role::Groups(ids) => ids.first().copied().unwrap_or(0),
            _ => groups + f.term,
        });
        let others = hidden
            || mentions
                .iter()
                .any(|f| self.terms[f.term].role == Role::Other && !self.terms[f.term].onlooker);
        mark_pairs(text, &mut mentions, |f| &self.terms[f.term].role);
        mentions.retain(|f| self.terms[f.term].role != Role::Other);
        (mentions, others)
    }
}

/// People who comment on a country, folded: English words whole (or plural), Korean and
/// Russian ones as stems.
const COMMENTATORS: &[&str] = &[
    "expert",
    "analyst",
    "scholar",
    "academic",
    "professor",
    "historian",
    "researcher",
    "watcher",
    "commentator",
    "pundit",
    "think",
    "think-tank",
    "orientalist",
    "전문가",
    "학자",
    "동양학자",
    "교수",
    "연구원",
    "분석가",
    "싱크탱크",
    "эксперт",
    "политолог",
    "кореевед",
    "востоковед",
    "аналитик",
    "учены",
    "ученог",
    "историк",
    "исследовател",
    "профессор",
    "обозревател",
    "публицист",
];

/// Words that may stand between a country and its commentator: the field ("러시아의 한반도
/// 전문가", "북한 문제 전문가").
const FIELDS: &[&str] = &["한반도", "문제", "북핵", "affairs", "peninsula"];

/// Whether `after`, the text after a mention, makes it a commentator's origin or field: its
/// next word, past a Korean particle and a word of [`FIELDS`], is one of [`COMMENTATORS`]
/// ("russian expert", "러시아의 한반도 전문가는"), or it goes on "-born", "출신"
/// ("russian-born", "러 출신").
fn qualifies_a_commentator(after: &str) -> bool {
    if after.starts_with("-born") || after.trim_start().starts_with("출신") {
        return true;
    }
    let mut words = after
        .split_whitespace()
        .skip_while(|w| w.chars().count() == 1 && w.chars().all(|c| PARTICLES.contains(&c)))
        .skip_while(|w| FIELDS.contains(w));
    let Some(word) = words.next() else {
        return false;
    };
    let word = word.trim_end_matches(|c: char| !c.is_alphanumeric());
    COMMENTATORS.iter().any(|c| {
        if c.is_ascii() {
            word.strip_prefix(c)
                .is_some_and(|rest| rest.is_empty() || rest == "s")
        } else {
            word.starts_with(c)
        }
    })
}

/// The spans of exclusion phrases, sorted, so that "is this position inside one" is a binary
/// search: a text that repeats an exclusion thousands of times must not cost a comparison of
/// every mention with every exclusion.
struct Exclusions {
    /// Span starts, ascending.
    starts: Vec<usize>,
    /// For each span in that order, the furthest end of it and every span before it.
    reach: Vec<usize>,
}

impl Exclusions {
    fn new(spans: impl Iterator<Item = (usize, usize)>) -> Exclusions {
        let mut spans: Vec<(usize, usize)> = spans.collect();
        spans.sort_unstable();
        let mut furthest = 0;
        let reach = spans
            .iter()
            .map(|&(_, end)| {
                furthest = furthest.max(end);
                furthest
            })
            .collect();
        Exclusions {
            starts: spans.into_iter().map(|(start, _)| start).collect(),
            reach,
        }
    }

    /// Whether `at` lies inside a span (`start <= at < end`).
    fn covers(&self, at: usize) -> bool {
        let before = self.starts.partition_point(|&start| start <= at);
        before > 0 && self.reach[before - 1] > at
    }
}

/// One match in folded text.
#[derive(Debug, Clone)]
struct Found {
    start: usize,
    end: usize,
    term: usize,
    listed: bool,
    /// A leader of neither group (`Xi`, `Trump`).
    leader: bool,
}

/// Marks the mentions that are items of a list of [`LIST_MIN`] or more countries: a run of
/// mentions of different countries separated by nothing but commas, "and", "·" and the like.
/// `country` says which country a mention names, so "Russia's Kursk" is one country.
fn mark_lists(text: &str, mentions: &mut [Found], country: impl Fn(&Found) -> usize) {
    let mut run_start = 0;
    let mut countries: Vec<usize> = Vec::new();
    for i in 0..=mentions.len() {
        let joined = i > 0
            && i < mentions.len()
            && is_list_gap(&text[mentions[i - 1].end..mentions[i].start]);
        if !joined {
            if countries.len() >= LIST_MIN {
                for m in &mut mentions[run_start..i] {
                    m.listed = true;
                }
            }
            run_start = i;
            countries.clear();
        }
        if let Some(m) = mentions.get(i) {
            let c = country(m);
            if !countries.contains(&c) {
                countries.push(c);
            }
        }
    }
    // "北 등 5개국", "러시아, 북한 등", "Ukraine, North Korea and other issues": a list that
    // says it goes on is one however few of its items are named.
    for m in mentions.iter_mut() {
        if closes_list(&text[m.end..]) {
            m.listed = true;
        }
    }
}

/// Phrases after a list's last item that say it goes on ("the war in Ukraine, North Korea and
/// other issues").
const LIST_ENDS: &[&str] = &[
    " and other",
    ", and other",
    " and others",
    " among others",
    " и другие",
    " и других",
    " и др",
];

/// Whether `after`, the text after a mention, says that a list goes on: one of [`LIST_ENDS`],
/// or the Korean 등 ("and others") as a word of its own, or with a particle.
fn closes_list(after: &str) -> bool {
    if LIST_ENDS.iter().any(|end| after.starts_with(end)) {
        return true;
    }
    let Some(rest) = after.trim_start_matches(PARTICLES).strip_prefix(" 등") else {
        return false;
    };
    rest.chars().next().is_none_or(|c| {
        !is_hangul(c) || matches!(c, '의' | '과' | '을' | '이' | '에' | '은' | '도')
    })
}

/// Words that join the items of a list.
const LIST_WORDS: &[&str] = &[
    "and",
    "or",
    "as",
    "well",
    "и",
    "или",
    "а",
    "также",
    "및",
    "와",
    "과",
    "또는",
    "그리고",
];

/// True when `gap`, the text between two country names, only joins list items: a comma, "·",
/// "and", a bare space and the like. A spaced dash ("Kursk – U.S. official") ends a clause, not a list item,
/// and a possessive ("Russia's Kursk") joins nothing.
fn is_list_gap(gap: &str) -> bool {
    if gap.chars().count() > 16 {
        return false;
    }
    // "러시아 이란 북한 등": names in a row with only spaces between are a list too (with
    // fewer than three countries in the run, it is not marked).
    if matches!(gap, "-" | "–" | "—") || (!gap.is_empty() && gap.chars().all(char::is_whitespace))
    {
        return true;
    }
    let words = gap.split(|c: char| {
        c.is_whitespace() || matches!(c, ',' | ';' | '/' | '&' | '·' | '・' | '、')
    });
    let mut saw_separator = gap
        .chars()
        .any(|c| matches!(c, ',' | ';' | '/' | '&' | '·' | '・' | '、'));
    for word in words.filter(|w| !w.is_empty()) {
        // Korean particles come attached ("북한과"): the gap starts with them.
        if LIST_WORDS.contains(&word) {
            saw_separator = true;
        } else if !matches!(word, "'s" | "s'" | "'") {
            return false;
        }
    }
    saw_separator
}

/// Byte offset in folded `body` where the lede ends: after [`LEDE_WORDS`] words.
fn lede_end(body: &str) -> usize {
    body.char_indices()
        .filter(|&(i, c)| {
            c.is_whitespace() && !body[i + c.len_utf8()..].starts_with(char::is_whitespace)
        })
        .nth(LEDE_WORDS - 1)
        .map_or(body.len(), |(i, _)| i)
}

/// Whether the text between two mentions of one group leaves them one reference: at most two
/// words between them and no punctuation ("russian president vladimir putin", "북한 국무위원장
/// 김정은"), as a title and a name, or a country and its leader, read together.
fn one_reference(gap: &str) -> bool {
    // Two words of any script fit in this many bytes; a longer gap is never one reference.
    if gap.len() > 48 {
        return false;
    }
    !gap.chars().any(|c| {
        matches!(
            c,
            '.' | ',' | ';' | ':' | '!' | '?' | '…' | '·' | '"' | '(' | ')'
        )
    }) && gap.split_whitespace().count() <= 2
}

/// Words that attribute what came before them to a speaker ("…, said Russia's ambassador",
/// "…, заявил депутат Госдумы", "…라고 러시아 전문가가 말했다"): a group named after one is
/// who spoke about the headline's subject, not part of it.
const SPEECH: &[&str] = &[
    " said",
    " says",
    " told",
    " according to",
    " reported",
    " quoted",
    " citing",
    " cited",
    " stated",
    " заявил",
    " заявила",
    " заявили",
    " сообщил",
    " сообщила",
    " сообщили",
    " сообщает",
    " сказал",
    " сказала",
    " рассказал",
    " рассказала",
    " пишет",
    " передает",
    " считает",
    " по словам",
    " по данным",
    " по мнению",
    " отметил",
    " отметила",
    " отмечает",
    " подчеркнул",
    " пояснил",
    " добавил",
    " полагает",
    "라고",
    "이라고",
    "밝혔",
    "말했",
    "전했",
];

/// Words after a speech verb that open what was said, not who said it.
const CONTENT: &[&str] = &["that", "что", "чтобы", "how", "как"];

/// Whether `before`, the first sentence up to a mention, attributes it as a speaker: a word of
/// [`SPEECH`] close before it ("…, said a Russian deputy", "…, заявил первый зампред
/// комитета Госдумы"), not one that opens what was said ("said that Russia…", "заявила, что
/// Северная Корея выступает в поддержку России").
fn attributes_speech(before: &str) -> bool {
    SPEECH.iter().any(|w| {
        before.rfind(w).is_some_and(|at| {
            let gap = &before[at + w.len()..];
            let words = gap.split_whitespace();
            !gap.contains(',')
                && words.clone().count() <= 4
                && !words
                    .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
                    .any(|w| CONTENT.contains(&w))
        })
    })
}

/// Where the first sentence of a (folded) body ends: its first `.`, `!`, `?` or `…` followed
/// by a space (past closing quotes and brackets), past its first 20 characters, not counting a `.` that is [`abbreviated`]; the
/// lede's end (`lede`) when there is none or it comes first.
fn first_sentence_end(body: &str, lede: usize) -> usize {
    body.char_indices()
        .skip(20)
        .find(|&(i, c)| {
            matches!(c, '.' | '!' | '?' | '…' | '。')
                && body[i + c.len_utf8()..]
                    .trim_start_matches(['"', '\'', '”', '’', '»', ')'])
                    .starts_with(char::is_whitespace)
                && !(c == '.' && abbreviated(&body[..i]))
        })
        .map_or(lede, |(i, _)| i.min(lede))
}

/// Abbreviations that a full stop ends without ending the sentence, folded.
const ABBREVIATIONS: &[&str] = &[
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mr",
    "mrs", "ms", "dr", "gen", "lt", "col", "sgt", "capt", "maj", "adm", "amb", "gov", "sen", "rep",
    "prof", "st", "no", "vs", "jr", "sr", "inc", "corp", "co", "dept", "тыс", "млн", "млрд", "руб",
    "ген",
];

/// Whether `before`, the text up to a full stop, ends in a word that the stop abbreviates or
/// numbers rather than ends the sentence: a number of one or two digits ("«1.", "2."), a
/// single letter or a dotted abbreviation ("n. korea", "u.s."), or one of [`ABBREVIATIONS`]
/// ("oct. 21", "amb.").
fn abbreviated(before: &str) -> bool {
    let word = before.rsplit(char::is_whitespace).next().unwrap_or(before);
    let word = word.trim_start_matches(|c: char| !c.is_alphanumeric());
    let number = (1..=2).contains(&word.len()) && word.chars().all(|c| c.is_ascii_digit());
    number || word.chars().count() == 1 || word.contains('.') || ABBREVIATIONS.contains(&word)
}

/// Where the body's wire dateline ends (0 when it has none). A mention in a dateline says
/// where the story was filed, not what it is about ("Москва. 26 февраля. INTERFAX",
/// "MOSCOW (Reuters) –", "Пхеньян, 5 мая"): a body whose first word is
/// followed by a comma, full stop, dash or parenthesis starts with a dateline, which runs to
/// its first full stop within 80 bytes ("Москва, 1 сентября - АиФ-Москва."), else to the end
/// of that first word.
fn dateline_end(body: &str) -> usize {
    let start = body.len()
        - body
            .trim_start_matches(|c: char| c.is_whitespace() || c == '(')
            .len();
    let rest = &body[start..];
    let word = rest
        .find(|c: char| !(c.is_alphabetic() || c == '-' || c == '\''))
        .unwrap_or(rest.len());
    if word == 0 {
        return 0;
    }
    let after = rest[word..].trim_start();
    if !after.starts_with([',', '.', '—', '–', '-', '(', '=']) {
        return 0;
    }
    // A dateline goes on with a date or an agency ("26 февраля", "(Reuters)", "/ТАСС/");
    // "Russia, North Korea vow closer ties" is a sentence, not a dateline.
    let marker = after
        .char_indices()
        .take_while(|&(i, _)| i < 24)
        .any(|(_, c)| c.is_ascii_digit() || matches!(c, '(' | '/'));
    if !marker {
        return 0;
    }
    let mut limit = rest.len().min(80);
    while !rest.is_char_boundary(limit) {
        limit -= 1;
    }
    let window = &rest[..limit];
    let stop = window
        .char_indices()
        .find(|&(i, c)| c == '.' && window[i + 1..].starts_with(char::is_whitespace))
        .map(|(i, _)| i);
    start + stop.unwrap_or(word)
}

/// Marks mentions named in passing by the pairs they are joined in: a group's term paired
/// with a country or leader of neither group ("Russia comments on US and North Korea talks",
/// "Kim arrives ahead of a parade with Xi and Putin"), and the two groups joined as a pair
/// ("Putin and Kim", "Russia, North Korea") beside a leader of neither group ("Trump defends
/// Putin and Kim"): the pair is then one side of a line-up, not the subject.
fn mark_pairs<'r>(text: &str, mentions: &mut [Found], role: impl Fn(&Found) -> &'r Role) {
    for i in 1..mentions.len() {
        let (a, b) = (&mentions[i - 1], &mentions[i]);
        let gap = &text[a.end..b.start];
        // A pair is joined by a word or a mark ("and", ",", "·"); names side by side with
        // only a space between them are a pair only in a longer list.
        if gap.trim().is_empty() || !is_list_gap(gap) {
            continue;
        }
        // A pair that vetoes or blocks acts together on a third ("China and Russia veto
        // the sanctions on North Korea"): each is in the story.
        if vetoes(&text[b.end..]) {
            continue;
        }
        match (role(a), role(b)) {
            // One group's term paired with another country or leader ("US and North Korea
            // talks", "Xi and Putin"): that pair is the subject, not this group with the
            // others.
            (Role::Groups(_), Role::Other) => mentions[i - 1].listed = true,
            (Role::Other, Role::Groups(_)) => mentions[i].listed = true,
            _ => {}
        }
    }
    let is_leader = |f: &Found| matches!(role(f), Role::Other) && f.leader;
    if !mentions.iter().any(is_leader) {
        return;
    }
    for i in 1..mentions.len() {
        let (a, b) = (&mentions[i - 1], &mentions[i]);
        let (Role::Groups(ga), Role::Groups(gb)) = (role(a), role(b)) else {
            continue;
        };
        if ga != gb && is_list_gap(&text[a.end..b.start]) {
            mentions[i - 1].listed = true;
            mentions[i].listed = true;
        }
    }
}

/// Words of a veto, folded, as stems.
const VETOES: &[&str] = &["veto", "block", "거부권", "반대", "вето", "заблокир"];

/// Whether `after`, the text after a pair, goes on with a word of [`VETOES`] within three words
/// ("vetoed", "'北추가제재' 거부권", "наложили вето").
fn vetoes(after: &str) -> bool {
    after
        .trim_start_matches(PARTICLES)
        .split_whitespace()
        .take(3)
        .any(|w| {
            let w = w.trim_start_matches(|c: char| !c.is_alphanumeric());
            VETOES.iter().any(|v| w.starts_with(v))
        })
}

/// Letters stripped from the end of Cyrillic words to get the stem.
const CYRILLIC_INFLECTABLE: &[char] = &['а', 'я', 'о', 'е', 'ё', 'ы', 'и', 'ь', 'й', 'у', 'ю'];
/// Minimum stem length (in letters) for suffix matching of Cyrillic words.
const MIN_STEM: usize = 4;
/// Minimum stem length for a word of a term of several words.
const MIN_MULTI_STEM: usize = 3;
/// Maximum number of Cyrillic letters allowed after a stem.
const MAX_SUFFIX: usize = 3;

/// Appends the folded form of `s` to `out` (lower case, `’` → `'`, `‐` → `-`, `ё` → `е`).
fn fold_into(s: &str, out: &mut String) {
    for c in s.chars() {
        fold_char(c, out);
    }
}

/// Appends the folded form of `c` to `out`.
fn fold_char(c: char, out: &mut String) {
    match c {
        _ if c.is_ascii() => out.push(c.to_ascii_lowercase()),
        '\u{2019}' => out.push('\''),
        // Typographic hyphens are hyphens: "Kim Jong‑un".
        '\u{2010}' | '\u{2011}' => out.push('-'),
        'ё' | 'Ё' => out.push('е'),
        _ => out.extend(c.to_lowercase()),
    }
}

fn is_cyrillic(c: char) -> bool {
    matches!(c, '\u{0400}'..='\u{052F}' | '\u{1C80}'..='\u{1C8F}' | '\u{2DE0}'..='\u{2DFF}' | '\u{A640}'..='\u{A69F}')
}

fn is_hangul(c: char) -> bool {
    matches!(c, '\u{AC00}'..='\u{D7A3}' | '\u{1100}'..='\u{11FF}' | '\u{3130}'..='\u{318F}' | '\u{A960}'..='\u{A97F}' | '\u{D7B0}'..='\u{D7FF}')
}

/// First syllables of the Korean particles that may follow a one-syllable abbreviation:
/// `러에` (to Russia), `북은`, `北의`; other syllables make another word (`러닝`, `북미`).
const PARTICLES: &[char] = &[
    '은', '는', '이', '가', '을', '를', '의', '에', '와', '과', '도', '로', '으', '만', '엔', '측',
];

fn is_han(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}')
}

/// Builds the folded word list of a term (already checked non-empty).
fn compile_words(term: &str) -> Vec<Word> {
    let mut folded = String::with_capacity(term.len());
    fold_into(term, &mut folded);
    let raw: Vec<&str> = folded.split_whitespace().collect();
    let multi = raw.len() > 1;
    raw.iter()
        .map(|w| {
            let single = !multi && w.chars().count() == 1;
            let script = if w.chars().any(is_hangul) {
                if single {
                    Script::HangulToken
                } else {
                    Script::Hangul
                }
            } else if single && w.chars().all(is_han) {
                Script::HanToken
            } else if w.chars().any(is_cyrillic) {
                return cyrillic_word(w, multi);
            } else {
                Script::Latin
            };
            Word {
                text: (*w).to_owned(),
                script,
            }
        })
        .collect()
}

/// Stems a folded Cyrillic word; see the module docs for the rule.
fn cyrillic_word(word: &str, multi: bool) -> Word {
    let mut stem = word;
    let mut stripped = 0;
    let mut too_short = false;
    while stripped < 2 {
        let Some(last) = stem.chars().next_back() else {
            break;
        };
        if !CYRILLIC_INFLECTABLE.contains(&last) {
            break;
        }
        let shorter = &stem[..stem.len() - last.len_utf8()];
        // In a term of several words the others anchor a short one: "край" in "Приморский
        // край" is stemmed so that "Приморского края" matches.
        let min_stem = if multi { MIN_MULTI_STEM } else { MIN_STEM };
        if shorter.chars().count() < min_stem {
            // Only the first strip decides exactness: a later strip that would go too short
            // just stops ("корея" → "коре", not "кор").
            too_short = stripped == 0;
            break;
        }
        stem = shorter;
        stripped += 1;
    }
    let short = too_short || stem.chars().count() < MIN_STEM;
    let max_suffix = if short && !multi { 0 } else { MAX_SUFFIX };
    Word {
        text: stem.to_owned(),
        script: Script::Cyrillic { max_suffix },
    }
}

/// True when no letter or digit directly precedes byte offset `start`.
fn left_boundary_ok(text: &str, start: usize) -> bool {
    text[..start]
        .chars()
        .next_back()
        .is_none_or(|c| !c.is_alphanumeric())
}

/// Where a term that starts at `start` (its first word found there, the left boundary
/// checked) ends, or `None` when it does not match there. A Hangul term ends before the
/// particle that follows it.
fn term_end_at(words: &[Word], text: &str, start: usize) -> Option<usize> {
    let mut pos = start;
    for (i, word) in words.iter().enumerate() {
        if !text[pos..].starts_with(word.text.as_str()) {
            return None;
        }
        pos += word.text.len();
        let last = i + 1 == words.len();
        match word.script {
            Script::Latin => {}
            Script::HangulToken | Script::HanToken => {
                let same_script = if word.script == Script::HanToken {
                    is_han
                } else {
                    is_hangul
                };
                let next = text[pos..].chars().next();
                return next
                    .is_none_or(|c| {
                        PARTICLES.contains(&c) || (!same_script(c) && !c.is_ascii_alphanumeric())
                    })
                    .then_some(pos);
            }
            Script::Hangul if last => return Some(pos),
            Script::Hangul => {}
            Script::Cyrillic { max_suffix } => {
                let mut count = 0;
                for c in text[pos..].chars() {
                    if !(is_cyrillic(c) && c.is_alphabetic()) {
                        break;
                    }
                    count += 1;
                    if count > max_suffix {
                        return None;
                    }
                    pos += c.len_utf8();
                }
            }
        }
        let next = text[pos..].chars().next();
        if last {
            return next.is_none_or(|c| !c.is_alphanumeric()).then_some(pos);
        }
        match next {
            Some(c) if c.is_whitespace() => pos += c.len_utf8(),
            _ => return None,
        }
    }
    Some(pos)
}

#[cfg(test)]
mod tests {
    #[test]
    fn exclusions_cover_positions_inside_any_span() {
        let spans = Exclusions::new([(10, 20), (12, 14), (30, 35), (0, 2)].into_iter());
        let cases = [
            ("before_all", 0, true),
            ("end_is_outside", 2, false),
            ("inside_outer", 15, true),
            ("inside_nested_and_outer", 13, true),
            ("between", 25, false),
            ("last_span", 34, true),
            ("after_all", 35, false),
        ];
        for (name, at, covered) in cases {
            assert_eq!(spans.covers(at), covered, "{name}");
        }
        assert!(!Exclusions::new(std::iter::empty()).covers(0));
    }

    use super::*;

    fn topic() -> Topic {
        Topic::new(&Spec::default()).expect("defaults compile")
    }

    fn spec(groups: &[(&str, &[&str])]) -> Spec {
        Spec {
            groups: groups
                .iter()
                .map(|(g, ts)| ((*g).to_owned(), strings(ts)))
                .collect(),
            exclude: Vec::new(),
            threshold: DEFAULT_THRESHOLD,
        }
    }

    #[test]
    fn folded_offsets_map_back_to_the_original() {
        let original = "A\u{2019}b Ким";
        let mut folded = String::new();
        fold_into(original, &mut folded);
        assert_eq!(folded, "a'b ким");
        let at = folded.find("ким").expect("folded");
        assert_eq!(&original[original_offset(original, at)..], "Ким");
        assert_eq!(original_offset(original, folded.len()), original.len());
    }

    #[test]
    fn topic_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Topic>();
    }

    #[test]
    fn both_countries_in_the_title_or_twice_in_the_lede_are_relevant() {
        let t = topic();
        for (title, body) in [
            ("North Korea sends troops to Russia", ""),
            (
                "Putin hails 'invincible' alliance",
                "The Russian leader thanked Pyongyang and praised North Korean troops.",
            ),
            ("Kim Jong Un meets Shoigu", ""),
            ("북러 정상회담 열려", ""),
            ("북·러, 조약 비준", ""),
            ("김정은, 방러 마치고 귀국", ""),
            ("북한군, 쿠르스크서 전투", ""),
            ("Путин прибыл в Пхеньян", ""),
            ("Лавров встретился с министром иностранных дел КНДР", ""),
            ("Северокорейские военные в Курской области", ""),
            ("Ким Чен Ын посетил Владивосток", ""),
        ] {
            let v = t.evaluate(title, body);
            assert!(v.relevant, "{title} / {body}: {v:?}");
            assert_eq!(v.score, 1.0, "{title}");
        }
        // One mention in the lede is half a title's.
        let v = t.evaluate(
            "Japan warns of North Korea threat",
            "Drills by Russia's navy are of grave concern, the ministry said.",
        );
        assert!(!v.relevant, "{v:?}");
        assert_eq!(v.score, 0.5);
    }

    #[test]
    fn south_korea_korean_and_seoul_are_not_the_dprk() {
        let t = topic();
        for title in [
            "South Korea and Russia discuss trade",
            "Korean carmakers leave Russia",
            "Seoul summons Russian ambassador",
            "Korea's exports to Russia fall",
            "한러 관계 개선 모색",
            "Южная Корея и Россия обсудили торговлю",
        ] {
            let v = t.evaluate(title, "");
            assert!(!v.relevant, "{title}: {v:?}");
            assert_eq!(v.groups[0].name, "dprk");
            assert_eq!(v.groups[0].score, 0.0, "{title}: {v:?}");
        }
    }

    #[test]
    fn one_mention_late_in_the_body_is_passing_and_three_are_enough() {
        let t = topic();
        let filler = "word ".repeat(LEDE_WORDS);
        let once = format!("{filler} North Korea was also mentioned.");
        let v = t.evaluate("Russia hits Kyiv with drones", &once);
        assert!(!v.relevant, "{v:?}");
        assert!((v.score - PASSING_WEIGHT).abs() < 1e-5, "{v:?}");
        let dprk = &v.groups[0];
        assert_eq!(dprk.mentions[0].place, Place::Body);

        let thrice = format!("{filler} Pyongyang. More on North Korea. The DPRK again.");
        let v = t.evaluate("Russia hits Kyiv with drones", &thrice);
        assert!(v.relevant, "{v:?}");
        assert_eq!(v.score, 1.0);
    }

    #[test]
    fn countries_in_a_list_are_named_in_passing() {
        let t = topic();
        for title in [
            "US warns China, Russia, North Korea and Iran",
            "Sanctions on Iran, North Korea and Russia",
            "북·중·러 밀착 경계",
            "중국과 러시아, 북한의 위협",
            "Китай, Россия и КНДР",
            "미국에 위협 국가 러시아 이란 북한 등",
        ] {
            let v = t.evaluate(title, "");
            assert!(!v.relevant, "{title}: {v:?}");
            assert!(v.groups.iter().all(|g| g.mentions.iter().all(|m| m.listed)));
        }
        // Two countries joined by "and" are a pair, not a list; a possessive joins a country
        // to its own place, and a spaced dash ends a clause.
        for title in [
            "Russia and North Korea sign treaty",
            "North Korean casualties in Russia\u{2019}s Kursk \u{2013} U.S. official",
            "Russia-North Korea bridge opens - China watches",
        ] {
            let v = t.evaluate(title, "");
            assert!(v.relevant, "{title}: {v:?}");
            assert!(
                v.groups
                    .iter()
                    .all(|g| g.mentions.iter().all(|m| !m.listed)),
                "{title}: {v:?}"
            );
        }
        let v = t.evaluate("Russia-China-North Korea drills", "");
        assert!(!v.relevant, "an unspaced dash joins a list: {v:?}");
    }

    #[test]
    fn korean_abbreviations_stand_alone_and_particles_attach() {
        let t = topic();
        let dprk = |title: &str| t.evaluate(title, "").groups[0].score;
        let russia = |title: &str| t.evaluate(title, "").groups[1].score;
        assert_eq!(dprk("북한은 미사일을 쐈다"), 1.0);
        assert_eq!(dprk("북, 미사일 발사"), 1.0);
        assert_eq!(dprk("남북한 정상"), 0.0, "남북한 is the two Koreas");
        assert_eq!(
            dprk("북미 회담"),
            0.0,
            "북미: North America or NK-US, not a token"
        );
        assert_eq!(dprk("동북아 정세"), 0.0);
        assert_eq!(dprk("북한산 등산로"), 0.0, "a mountain in Seoul");
        assert_eq!(dprk("평양냉면 맛집"), 0.0, "a noodle dish");
        assert_eq!(russia("러시아와 협력"), 1.0);
        assert_eq!(russia("러, 우크라이나 공습"), 1.0);
        assert_eq!(dprk("北, 러에 추가 파병"), 1.0);
        assert_eq!(russia("北, 러에 추가 파병"), 1.0, "러 with a particle");
        assert_eq!(dprk("북으로 돌아가"), 1.0);
        assert_eq!(dprk("北은 침묵"), 1.0, "Hanja with a Hangul particle");
        assert_eq!(dprk("北京 올림픽"), 0.0, "北京 is Beijing");
        assert_eq!(russia("러軍 공세"), 1.0);
        assert_eq!(russia("러닝 열풍"), 0.0);
        assert_eq!(russia("오버러닝"), 0.0);
    }

    #[test]
    fn russian_inflections_match_and_near_words_do_not() {
        let t = topic();
        let dprk = |text: &str| t.evaluate(text, "").groups[0].score;
        let russia = |text: &str| t.evaluate(text, "").groups[1].score;
        for text in [
            "России",
            "Россией",
            "российского",
            "Москвы",
            "Кремлём",
            "Путину",
        ] {
            assert_eq!(russia(text), 1.0, "{text}");
        }
        for text in [
            "Пхеньяна",
            "КНДР",
            "северокорейских",
            "Северной Кореи",
            "Ким Чен Ына",
        ] {
            assert_eq!(dprk(text), 1.0, "{text}");
        }
        // A short word of a term of several words is stemmed too.
        assert_eq!(russia("Приморского края"), 1.0);
        assert_eq!(dprk("реки Туманной"), 1.0);
        for text in ["Корея", "Южной Кореи", "корейский"] {
            assert_eq!(dprk(text), 0.0, "{text}");
        }
    }

    #[test]
    fn exclusions_hide_the_terms_inside_them() {
        let t = topic();
        let v = t.evaluate("North Korea plays Russian roulette", "");
        assert_eq!(v.groups[1].score, 0.0, "{v:?}");
        let v = t.evaluate("Students in Moscow, Idaho meet Pyongyang defectors", "");
        assert!(!v.relevant, "{v:?}");
    }

    #[test]
    fn matched_terms_are_reported_once_in_order() {
        let t = topic();
        let v = t.evaluate(
            "North Korean troops fight for Russia",
            "Pyongyang sent them. Russia denies it.",
        );
        assert_eq!(v.matched_terms, ["North Korean", "Russia", "Pyongyang"]);
        let dprk = &v.groups[0];
        assert_eq!(dprk.mentions.len(), 2);
        assert_eq!(dprk.mentions[1].place, Place::Lede);
    }

    #[test]
    fn kinds_of_story_the_issue_names() {
        let t = topic();
        let relevant = |title: &str, lede: &str| t.evaluate(title, lede).relevant;
        // One-sided war stories: Russia's war in Ukraine stands in for Russia.
        assert!(relevant(
            "North Korean POWs in Ukraine awed by basic comforts",
            ""
        ));
        assert!(relevant(
            "Стало известно, сколько военных КНДР погибли на войне в Украине",
            ""
        ));
        assert!(relevant("김정은, 파병군 표창", ""));
        // A Russia–Ukraine story names no DPRK.
        assert!(!relevant(
            "Zelensky says Russia is preparing a new offensive",
            ""
        ));
        // A headline naming one, its first sentence the other.
        assert!(relevant(
            "Leader seen honoring troops killed in Ukraine war",
            "State media images showed leader Kim Jong Un honoring the coffins."
        ));
        assert!(relevant(
            "초치된 러 대사",
            "외교부가 북한군 파병과 관련해 러시아 대사를 초치했다."
        ));
        // South Korea, which reacts to the tie first, leaves the headline open; and a
        // headline naming no country leaves its subject to the first sentence.
        assert!(relevant(
            "Foreign Ministry summons Russian envoy to South Korea",
            "Seoul protested over North Korea's deployment of soldiers to the war."
        ));
        assert!(relevant(
            "The end of the pariah state",
            "When Kim Jong Un pulled into Vladivostok to meet Vladimir Putin, a band played."
        ));
        assert!(!relevant(
            "The end of the pariah state",
            "China, Russia, North Korea and Iran are no longer alone."
        ));
        // ... but not when the other comes later, or the headline names a third country.
        assert!(!relevant(
            "North Korea fires ballistic missile into the sea",
            "The launch came days after talks. Analysts noted ties with Russia had deepened."
        ));
        assert!(!relevant(
            "Japan warns on China, N. Korea in defense paper",
            "Activities by China and Russia are of grave concern, Tokyo said."
        ));
        // ... nor when the other is only who spoke of it.
        assert!(!relevant(
            "North Korea cannot be called an aggressor",
            "North Korea has the right to defend itself, said a deputy of Russia's Duma."
        ));
        // ... but what the speaker said may name it.
        assert!(relevant(
            "Kim Yo Jong issues a statement",
            "Kim Yo Jong said that North Korea stands with Russia against the US."
        ));
        assert!(relevant(
            "Ким Ё Чжон сделала заявление",
            "Ким Ё Чжон заявила, что КНДР выступает в поддержку России."
        ));
        assert!(!relevant(
            "КНДР нельзя считать агрессором",
            "У КНДР есть право на оборону, заявил первый зампред комитета Госдумы."
        ));
        // A list that says it goes on names its items in passing.
        assert!(!relevant(
            "Russia's envoy stresses managing relations with S. Korea",
            "The two remain at odds over the war in Ukraine, North Korea and other issues."
        ));
        // Spellings of fast copy and of each side's own press.
        assert!(relevant("N.Korea's Kim vows closer ties with Russia", ""));
        assert!(relevant("N Korea, Russia open bridge", ""));
        assert!(relevant("Putin hosts N.K. leader", ""));
        assert!(relevant("Kim Jong\u{2011}un visits Russia", ""));
        assert!(relevant("Ким Чон Ын прибыл в Россию", ""));
        assert!(relevant("Путин и Ким Чжон Ын", ""));
        assert!(relevant("김 총비서, 러시아 대표단 접견", ""));
        assert!(relevant("조러 친선 강화", ""));
        assert!(relevant("김정은, 로씨야 대표단 접견", ""));
        assert!(relevant("Северокорейцы прибыли в Курскую область", ""));
        // Soviet–DPRK history and the leaders before Kim Jong Un.
        assert!(relevant("Kim Il Sung and the Soviet Red Army", ""));
        assert!(relevant(
            "Ten years after last visit, Kim Jong Il heads to Russia",
            ""
        ));
        // Comparisons and line-ups.
        assert!(!relevant("Russia is turning into North Korea", ""));
        assert!(!relevant(
            "Is Russia becoming the world's next North Korea?",
            ""
        ));
        assert!(!relevant(
            "Trump defends his relationship with Putin and Kim Jong Un",
            ""
        ));
        assert!(!relevant(
            "Xi, Putin and Kim gather at Tiananmen for a parade",
            ""
        ));
        // A pair that vetoes acts together: each is in the story.
        assert!(relevant(
            "China and Russia veto new sanctions on North Korea",
            ""
        ));
        assert!(relevant(
            "유엔총회, 중·러 '北추가제재' 거부권 행사 논의",
            ""
        ));
        assert!(!relevant(
            "Russia comments on U.S. and North Korea talks",
            ""
        ));
        assert!(relevant(
            "Putin and Kim sign a defence pact in Pyongyang",
            ""
        ));
        // A dateline is where a story was filed, and a title and a name are one reference.
        assert!(!relevant(
            "Южная Корея продолжит попытки нормализации отношений с КНДР",
            "Москва. 26 февраля. INTERFAX.RU - Президент Южной Кореи заявил о КНДР."
        ));
        // A lede that opens on a country is no dateline.
        assert!(relevant(
            "Treaty signed",
            "Russia, North Korea sign a mutual defence treaty. Officials in Moscow and Pyongyang said so."
        ));
        let v = t.evaluate("", "Russian President Vladimir Putin spoke.");
        assert_eq!(v.groups[1].mentions.len(), 1, "{v:?}");
        // Prisoners of war, captured soldiers and the DPRK's "overseas operations" are its
        // part in Russia's war; the South's prisoners from the Korean War are not.
        assert!(relevant(
            "North Korean prisoners of war ask to go south",
            ""
        ));
        assert!(relevant(
            "Captured North Korean soldier wants to defect",
            ""
        ));
        assert!(relevant(
            "Pyongyang opens housing for families of troops killed in overseas military operations",
            ""
        ));
        assert!(relevant("북한군 포로 2명 송환 요구", ""));
        assert!(relevant("김정은, 해외작전 희생 군인 유가족 위로", ""));
        assert!(relevant(
            "Ким Чен Ын почтил погибших в зарубежной военной операции",
            ""
        ));
        assert!(relevant("Как Ким Ир Сен служил в РККА", ""));
        assert!(!relevant("북한, 국군 포로 문제 외면", ""));
        assert!(relevant("Пленные северокорейские солдаты в Киеве", ""));
        // Russia's Far East and its governors, the Red Army of Soviet history.
        assert!(relevant(
            "Кожемяко планирует посетить КНДР",
            "Губернатор Приморского края намерен посетить Пхеньян."
        ));
        assert!(relevant("Kim Il Sung's years in the Red Army", ""));
        // A commentator's origin or field, and an institute's name, are not the story's
        // subject; technical experts sent abroad are.
        assert!(!relevant(
            "North Korea's markets are here to stay",
            "A Russian scholar told the forum that North Korea has a market economy."
        ));
        assert!(!relevant(
            "Pyongyang will not give up its bombs",
            "A Russian North Korea expert said sanctions would fail."
        ));
        assert!(!relevant("러 전문가 \"北, 비핵화 안할 것\"", ""));
        assert!(!relevant(
            "\"북한, 핵무기가 유일한 수단이라 믿어\"",
            "러시아의 한반도 전문가는 제재로 북한의 비핵화를 끌어내기 힘들다고 전망했다."
        ));
        assert!(!relevant("러 출신 학자의 北 분석", ""));
        assert!(!relevant("Russian-born scholar on Kim Jong Un's rule", ""));
        assert!(!relevant("Российский политолог о пуске ракеты КНДР", ""));
        assert!(!relevant(
            "러 싱크탱크도 \"북한 핵실험 가능성 배제 못해\"",
            ""
        ));
        assert!(!relevant(
            "Russian think tank sees a North Korean test soon",
            ""
        ));
        assert!(relevant("북 건설 전문가 2천 명 요청한 러시아", ""));
        assert!(relevant(
            "Министр культуры России практикует учение чучхе",
            ""
        ));
        // Korean pairs of other countries name a third country in the headline.
        assert!(!relevant(
            "한미일 훈련에 러 정찰기 등장",
            "북한이 미사일을 발사하자 한국과 미국, 일본이 훈련을 실시했다."
        ));
        // The Russian language is Russia; Moscow time and a World Cup held in Russia are
        // not.
        assert!(relevant(
            "Русский язык стал обязательным в школах Северной Кореи",
            ""
        ));
        assert!(!relevant(
            "Центральное телевидение КНДР сообщило о смерти Ким Чен Ира",
            "Он скончался в 08:30 по местному времени (03:30 по Москве) в поезде."
        ));
        assert!(!relevant(
            "북한 축구, 2018 러시아 월드컵 본선 진출 무산",
            ""
        ));
        // Russia's regions and cities are Russia.
        assert!(relevant("Делегация КНДР приедет в Петербург на форум", ""));
        assert!(relevant("Кузбасс отправил в Северную Корею муку", ""));
        assert!(relevant(
            "В Костроме будет останавливаться поезд до Северной Кореи",
            ""
        ));
        assert!(relevant("North Korean workers arrive in Novosibirsk", ""));
        assert!(relevant("Делегация КНДР примет участие в ВЭФ", ""));
        assert!(relevant("Russian tourists return to Masikryong", ""));
        assert!(relevant("Трутнев посетил Расон", ""));
        assert!(relevant(
            "Визит в Корейскую Народную Демократическую Республику",
            "Глава Татарстана прибыл в Пхеньян."
        ));
        // Russian companies are Russia.
        assert!(relevant("РЖД начала перевозки угля через порт Раджин", ""));
        assert!(!relevant(
            "Кореевед: КНДР открыта к диалогу с Югом",
            "Сотрудник Института Дальнего Востока РАН рассказал о КНДР."
        ));
        // More comparisons.
        assert!(!relevant("Россия становится похожей на Северную Корею", ""));
        assert!(!relevant("Россия, как и КНДР, живёт под санкциями", ""));
        assert!(!relevant("러시아, 북한보다 더 고립됐다", ""));
        assert!(!relevant("Russia now more isolated than North Korea", ""));
        assert!(!relevant("Russia risks becoming the new North Korea", ""));
        // "Kim" stands for the DPRK's leader in a headline, unless a given name follows.
        assert!(relevant(
            "China watches as Putin and Kim forge an alliance",
            ""
        ));
        assert!(relevant("Kim's train arrives in Vladivostok", ""));
        assert!(relevant("Путин и Ким обсудили договор", ""));
        assert!(relevant("Editor’s pick: Путин и Ким обсудили договор", ""));
        assert!(relevant("Лавров: Ким примет делегацию Москвы", ""));
        // A Russian named Kim, or another Kim, is no leader: names are capitalized.
        assert!(!relevant("Анатолий Ким назначен послом в Москве", ""));
        assert!(!relevant("Ким Кардашьян прилетела в Москву", ""));
        assert!(!relevant("Kim Keon-hee meets Russian envoy", ""));
        assert!(!relevant("Kim Dae Jung recalls his Moscow trip", ""));
        assert!(!relevant(
            "Seoul's envoy meets Lavrov in Moscow",
            "Ambassador Kim said the talks went well. Kim met him for an hour."
        ));
        // A headline that compares is not completed by its first sentence.
        assert!(!relevant(
            "Russia is doomed to follow the North Korean model",
            "For Putin, the way Pyongyang rules is attractive."
        ));
    }

    #[test]
    fn korean_lists_close_with_deung_and_abbreviations_end_no_sentence() {
        let t = topic();
        let v = t.evaluate("유엔, 러 규탄 결의안 채택… 北 등 5개국 반대", "");
        assert!(!v.relevant, "{v:?}");
        assert!(v.groups[0].mentions.iter().all(|m| m.listed), "{v:?}");
        // 등 as a word of its own only.
        assert!(t.evaluate("북한 등산객, 러시아 방문", "").relevant);
        // "«1." numbers a point: the first sentence goes on to Russia.
        let v = t.evaluate(
            "Кореевед о визите Ким Чен Ына",
            "Кореевед пишет: «1. Первый визит Ким Чен Ын совершает в Россию. Это знак.",
        );
        assert!(v.relevant, "{v:?}");
        let v = t.evaluate(
            "Кореевед о визите Ким Чен Ына",
            "Договор подписан в 2024. Визит Ким Чен Ын совершает в Россию.",
        );
        assert!(!v.relevant, "a year ends a sentence: {v:?}");
        // A quotation's closing mark ends the first sentence with it.
        let v = t.evaluate(
            "\"북한 경제개발 결국 실패할 것\"",
            "\"김정은은 북한의 박정희가 되고 싶어 한다.\" 러시아 대사가 이렇게 밝혔다.",
        );
        assert!(!v.relevant, "{v:?}");
        // Nor do "Oct.", "Amb." or "N." end one.
        for lede in [
            "Seoul summoned the envoy on Oct. 21 over North Korea's troops.",
            "Seoul summoned Amb. Zinoviev over North Korea's troops.",
            "Seoul summoned him over N. Korea's troops.",
        ] {
            let v = t.evaluate("Seoul summons Russian envoy", lede);
            assert!(v.relevant, "{lede}: {v:?}");
        }
    }

    #[test]
    fn any_text_is_judged_without_a_panic() {
        let t = topic();
        let pieces = [
            "Москва",
            "КНДР",
            "북한",
            "러",
            ".",
            ", ",
            " - ",
            "é",
            "(",
            "Kim",
            "  ",
        ];
        for n in 0..400usize {
            let mut body = String::new();
            for k in 0..(n % 23) {
                body.push_str(pieces[(n * 7 + k * 3) % pieces.len()]);
            }
            let title: String = body.chars().rev().take(n % 11).collect();
            let v = t.evaluate(&title, &body);
            assert!((0.0..=1.0).contains(&v.score), "{title:?} / {body:?}");
        }
    }

    #[test]
    fn a_term_inside_a_longer_one_is_one_mention() {
        let t = topic();
        let v = t.evaluate(
            "",
            &format!(
                "{} North Korean troops. North Korean shells.",
                "w ".repeat(60)
            ),
        );
        assert_eq!(v.groups[0].mentions.len(), 2, "{v:?}");
        assert_eq!(v.matched_terms, ["North Korean"]);
    }

    #[test]
    fn custom_groups_and_threshold() {
        let mut s = spec(&[("a", &["alpha"]), ("b", &["beta", "Пхеньян"])]);
        let t = Topic::new(&s).expect("compile");
        assert!(t.evaluate("alpha beta", "").relevant);
        assert!(!t.evaluate("alpha", "").relevant);
        assert!(t.evaluate("alpha and Пхеньяне", "").relevant);
        s.threshold = 0.3;
        let t = Topic::new(&s).expect("compile");
        let late = format!("{} beta", "w ".repeat(60));
        assert!(t.evaluate("alpha", &late).relevant);
    }

    #[test]
    fn new_errors_name_the_group() {
        assert!(matches!(Topic::new(&spec(&[])), Err(Error::NoGroups)));
        let err = Topic::new(&spec(&[("dprk", &["DPRK"]), ("russia", &[])])).expect_err("empty");
        assert!(err.to_string().contains("\"russia\""), "{err}");
        let err = Topic::new(&spec(&[("dprk", &["DPRK", "  "])])).expect_err("blank");
        assert!(err.to_string().contains("\"dprk\""), "{err}");
    }

    #[test]
    fn stems() {
        let cases: &[(&str, &str, Script)] = &[
            ("Россия", "росс", Script::Cyrillic { max_suffix: 3 }),
            ("Кремль", "кремл", Script::Cyrillic { max_suffix: 3 }),
            ("российский", "российск", Script::Cyrillic { max_suffix: 3 }),
            ("Ким", "ким", Script::Cyrillic { max_suffix: 0 }),
            ("북", "북", Script::HangulToken),
            ("북한", "북한", Script::Hangul),
        ];
        for (term, stem, script) in cases {
            let words = compile_words(term);
            assert_eq!(
                (words[0].text.as_str(), words[0].script),
                (*stem, *script),
                "{term}"
            );
        }
    }

    #[test]
    fn lede_is_the_first_words() {
        let body = format!("{}tail", "w ".repeat(LEDE_WORDS));
        assert_eq!(&body[lede_end(&body)..], " tail");
        assert_eq!(lede_end("short body"), "short body".len());
    }
}
