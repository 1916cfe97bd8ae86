/*
 * extract_int.h: what the files of the extract module share (extract.c,
 * extract_find.c); not part of any public contract. libxml2 types stay
 * inside the module.
 */
#ifndef KAKAOWATCH_EXTRACT_INT_H
#define KAKAOWATCH_EXTRACT_INT_H

#include <libxml/tree.h>

#include "kakaowatch/extract.h"

struct extract_doc {
	xmlDocPtr doc;  /* owned */
	char *page_url; /* owned, or NULL */
};

/*
 * extract_node_text: the item text of `node` as extract.h defines it
 * (whitespace collapsed, scripts left out); a heap string ("" when the node
 * has none), NULL on out-of-memory.
 */
char *extract_node_text(xmlNodePtr node);

#endif
