//! Microchip ENC28J60 SPI Ethernet controller (work in progress).
