"""Segments: placeholder until the secondary-pages work lands."""

import streamlit as st

st.title("Segments")
st.info("This page is being built.", icon=":material/construction:")
